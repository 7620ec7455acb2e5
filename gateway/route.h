/* route.h -- what the status server answers to a request line: the page
   and its content type, or an error and its code. Pure: no I/O. */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#ifdef __cplusplus
extern "C" {
#endif

enum route_page { ROUTE_METRICS, ROUTE_JSON, ROUTE_TEXT, ROUTE_ERROR };

struct route {
	enum route_page	 page;
	int		 code;		/* HTTP status: 200 or the error's */
	const char	*ctype;		/* content type of the page */
	const char	*error;		/* ROUTE_ERROR: the one-line body */
	int		 allow;		/* 405: send "Allow: GET, HEAD" */
};

/* Route method and path (without the query) with the value of the query
   argument "format" (NULL when absent): GET or HEAD of /metrics, of
   /status (format json, the default, or text); anything else an error:
   405 for another method, 404 for another path, 400 for another format. */
void	route_request(const char *method, const char *path, const char *format,
	    struct route *out);

#ifdef __cplusplus
}
#endif

#endif
