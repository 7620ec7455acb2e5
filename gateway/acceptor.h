/* acceptor.h -- the one thread that accepts clients on every listen link. */
#ifndef GW_ACCEPTOR_H
#define GW_ACCEPTOR_H

#include <stddef.h>

#include "link.h"

#ifdef __cplusplus
extern "C" {
#endif

struct acceptor;

/* Start the thread. Returns NULL with errno set on failure. */
struct acceptor	*acceptor_start(void);

/* Stop accepting: join the thread. Afterwards acceptor_remove() does not
   wait. NULL is fine. */
void	acceptor_halt(struct acceptor *);

/* Halt, close every listening socket left, free. NULL is fine. */
void	acceptor_free(struct acceptor *);

/* Listen on l's address (link_set_listening() learns it as bound) and
   hand every accepted client that the allow list admits to link_offer();
   refusals go to link_refuse(). Any number of listeners. Returns 0, or -1 with errno set and a
   reason in err (address in use, ...). */
int	acceptor_add(struct acceptor *, struct link *l, char *err, size_t errlen);

/* Stop listening for l and close its socket. When it returns, the thread
   will not touch l again. */
void	acceptor_remove(struct acceptor *, struct link *l);

#ifdef __cplusplus
}
#endif

#endif
