// nschild.cc -- a test's body in a child process with namespaces of its own.
#include "nschild.h"

#include <gtest/gtest.h>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace {

// Bring lo of this network namespace up.
bool
loopback_up()
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	if (fd == -1)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ok = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	}
	close(fd);
	return ok;
}

// In the child: the namespaces, as ourselves or inside a user namespace.
bool
enter(int flags)
{
	bool ns = unshare(CLONE_NEWNS | flags) == 0;

	if (!ns && unshare(CLONE_NEWUSER | CLONE_NEWNS | flags) == 0) {
		// Map ourselves to root in the new namespace, to own what
		// the test creates there.
		std::string uid = "0 " + std::to_string(geteuid()) + " 1";
		std::string gid = "0 " + std::to_string(getegid()) + " 1";
		ns = write_whole("/proc/self/setgroups", "deny") &&
		    write_whole("/proc/self/uid_map", uid) &&
		    write_whole("/proc/self/gid_map", gid);
	}
	if (!ns || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE,
	    nullptr) == -1)
		return false;
	return (flags & CLONE_NEWNET) == 0 || loopback_up();
}

}  // namespace

bool
write_whole(const char *path, const std::string &text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd != -1 && write(fd, text.data(), text.size()) ==
	    (ssize_t)text.size();

	if (fd != -1)
		ok = close(fd) == 0 && ok;
	return ok;
}

int
in_namespaces(int flags, const std::function<bool()> &setup,
    const std::function<std::string()> &body, std::string *why)
{
	int pfd[2];

	if (pipe(pfd) == -1)
		return 77;
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		if (!enter(flags) || !setup())
			_exit(77);
		std::string r = body();
		ssize_t w = write(pfd[1], r.data(), r.size());
		(void)w;
		_exit(r.empty() ? 0 : 1);
	}
	close(pfd[1]);
	if (pid == -1) {
		close(pfd[0]);
		return 77;
	}
	std::string text;
	char buf[512];
	auto deadline = std::chrono::steady_clock::now() +
	    std::chrono::seconds(30);
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		if (poll(&p, 1, 100) == 1) {
			ssize_t n = read(pfd[0], buf, sizeof(buf));
			if (n <= 0)
				break;
			text.append(buf, (size_t)n);
		}
		if (std::chrono::steady_clock::now() > deadline) {
			kill(pid, SIGKILL);
			text += " (timed out)";
			break;
		}
	}
	close(pfd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	*why = text;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void
expect_in_namespaces(int flags, const std::function<bool()> &setup,
    const std::function<std::string()> &body, const char *skip_why)
{
	std::string why;
	int rc = in_namespaces(flags, setup, body, &why);

	if (rc == 77 && getenv("CI") == nullptr)
		GTEST_SKIP() << skip_why;
	EXPECT_EQ(rc, 0) << (rc == 77 ? std::string(skip_why) +
	    " (CI is set: a failure)" : why);
}
