// http.cc -- a minimal HTTP/1.1 client for tests, and running a command.
#include "http.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "net.h"

static int64_t
mono_ms()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
	    std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string
HttpReply::header(const std::string &name) const
{
	std::istringstream in(headers);
	std::string line;

	while (std::getline(in, line)) {
		if (!line.empty() && line.back() == '\r')
			line.pop_back();
		size_t colon = line.find(':');
		if (colon == std::string::npos || colon != name.size() ||
		    strncasecmp(line.c_str(), name.c_str(), colon) != 0)
			continue;
		size_t v = line.find_first_not_of(' ', colon + 1);
		return v == std::string::npos ? "" : line.substr(v);
	}
	return "";
}

HttpReply
http_request(int port, const std::string &method, const std::string &path,
    int timeout_ms, const char *host, const std::string &body)
{
	HttpReply r;
	int64_t deadline = mono_ms() + timeout_ms;
	int fd = tcp_connect(port, timeout_ms, host);

	if (fd == -1)
		return r;
	std::string req = method + " " + path + " HTTP/1.1\r\nHost: test\r\n"
	    "Connection: close\r\n";
	if (!body.empty())
		req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
	req += "\r\n" + body;
	if (!write_all(fd, req.data(), req.size(), timeout_ms)) {
		close(fd);
		return r;
	}
	std::string raw;
	char buf[8192];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			raw.append(buf, (size_t)n);
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			close(fd);
			return r;
		}
		int64_t left = deadline - mono_ms();
		struct pollfd p = { fd, POLLIN, 0 };
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			close(fd);
			return r;
		}
	}
	close(fd);
	size_t end = raw.find("\r\n\r\n");
	if (end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0)
		return r;
	r.headers = raw.substr(0, end + 2);
	r.body = raw.substr(end + 4);
	r.status = atoi(raw.c_str() + 9);
	return r;
}

int
run_command(const std::vector<std::string> &argv, std::string *out,
    int timeout_ms, const std::string &stdin_path)
{
	int pfd[2];

	out->clear();
	if (argv.empty() || pipe2(pfd, O_CLOEXEC) == -1)
		return -1;
	pid_t pid = fork();
	if (pid == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int in = open(stdin_path.empty() ? "/dev/null" :
		    stdin_path.c_str(), O_RDONLY);
		if (in == -1)
			_exit(126);
		dup2(in, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		std::vector<char *> av;
		for (auto &a : argv)
			av.push_back(const_cast<char *>(a.c_str()));
		av.push_back(nullptr);
		execv(av[0], av.data());
		_exit(127);
	}
	close(pfd[1]);
	int64_t deadline = mono_ms() + timeout_ms;
	bool timed_out = false;
	char buf[4096];
	for (;;) {
		int64_t left = deadline - mono_ms();
		struct pollfd p = { pfd[0], POLLIN, 0 };
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int rc = poll(&p, 1, (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc <= 0) {
			timed_out = rc == 0;
			break;
		}
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n > 0)
			out->append(buf, (size_t)n);
		else if (n == 0 || errno != EINTR)
			break;
	}
	close(pfd[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	pid_t w;
	// The pipe closed: the child is exiting (or was killed); still, never
	// wait past the deadline.
	while ((w = waitpid(pid, &status, timed_out ? 0 : WNOHANG)) == 0) {
		if (mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			timed_out = true;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	if (w == -1 || timed_out)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

std::string
find_in_path(const std::string &name)
{
	const char *path = getenv("PATH");
	std::istringstream in(path ? path : "/usr/bin:/bin");
	std::string dir;

	while (std::getline(in, dir, ':')) {
		std::string p = (dir.empty() ? "." : dir) + "/" + name;
		if (access(p.c_str(), X_OK) == 0)
			return p;
	}
	return "";
}

double
metric(const std::string &page, const std::string &series)
{
	std::string key = "\n" + series + " ";
	size_t at = ("\n" + page).find(key);

	if (at == std::string::npos)
		return -1;
	return strtod(page.c_str() + at + key.size() - 1, nullptr);
}
