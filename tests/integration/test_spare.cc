// The spare descriptor of a server out of descriptors (spare.c): given up
// only for a client that waits, and never to another server's accept().
// Each test lowers its own process's RLIMIT_NOFILE to the descriptors it
// holds, so that the spare's number is the only one to be had.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>
#include "net.h"
#include "spare.h"

namespace {

const char kNo[] = "no\n";

// Holds the process at the descriptors it has, and gives the limit back.
class NoMoreDescriptors {
public:
	NoMoreDescriptors()
	{
		if (getrlimit(RLIMIT_NOFILE, &was_) == -1)
			return;
		int lowest = dup(0);	// the lowest free number
		if (lowest == -1)
			return;
		close(lowest);
		struct rlimit rl = { (rlim_t)lowest, was_.rlim_max };
		held_ = setrlimit(RLIMIT_NOFILE, &rl) == 0;
	}
	~NoMoreDescriptors()
	{
		if (held_)
			setrlimit(RLIMIT_NOFILE, &was_);
	}
	bool held() const { return held_; }
private:
	struct rlimit was_ {};
	bool held_ = false;
};

int
nonblocking_listener(int *port)
{
	int lfd = tcp_listen(port);
	if (lfd != -1 && fcntl(lfd, F_SETFL, O_NONBLOCK) == -1) {
		close(lfd);
		return -1;
	}
	return lfd;
}

ino_t
inode(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// A client's socket, made before the limit comes down (a connect makes
// no descriptor): its fd, or -1.
int
client_socket()
{
	return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

bool
connect_to(int fd, int port)
{
	struct sockaddr_in sin = {};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == EINPROGRESS;
}

// A server's loop as the daemon's (control.c, status.c): poll, accept,
// turn away when out of descriptors. Counts what happened to it.
struct Server {
	int lfd = -1;
	struct spare sp = { -1 };
	std::atomic<int> turned{0}, accepted{0}, paused{0};

	void run(const std::atomic<bool> &stop)
	{
		while (!stop) {
			struct pollfd p = { lfd, POLLIN, 0 };
			if (poll(&p, 1, 10) <= 0)
				continue;
			for (;;) {
				int fd = spare_accept(lfd, nullptr, nullptr,
				    SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (fd != -1) {
					accepted++;
					close(fd);
					continue;
				}
				bool away = false;
				enum spare_next next = spare_accept_failed(&sp,
				    lfd, errno, kNo, &away);
				if (away)
					turned++;
				if (next == SPARE_AGAIN)
					continue;
				if (next == SPARE_PAUSE)
					paused++;
				break;
			}
		}
	}
};

}  // namespace

// accept() fails with EMFILE whether or not a client waits: with none
// waiting the spare stays as it is (a spare let go for nothing is a
// number another thread may take).
TEST(Spare, KeptWhileNoClientWaits)
{
	int port, lfd = nonblocking_listener(&port);
	ASSERT_NE(lfd, -1);
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	struct spare sp = { p[0] };	// told apart from /dev/null
	ino_t ino = inode(p[0]);
	{
		NoMoreDescriptors limit;
		ASSERT_TRUE(limit.held());
		int fd = spare_accept(lfd, nullptr, nullptr, SOCK_CLOEXEC);
		int err = errno;
		ASSERT_EQ(fd, -1);
		ASSERT_EQ(err, EMFILE);
		bool away = true;
		EXPECT_EQ(spare_accept_failed(&sp, lfd, err, kNo, &away),
		    SPARE_DONE);
		EXPECT_FALSE(away);
	}
	EXPECT_EQ(sp.fd, p[0]);
	EXPECT_EQ(inode(sp.fd), ino) << "the spare was closed and made again";
	spare_close(&sp);
	close(p[1]);
	close(lfd);
}

// A client that waits is told no and closed; its number is the spare
// after it, and the process is as full as before.
TEST(Spare, ClientThatWaitsIsTurnedAwayAndTheSpareStays)
{
	int port, lfd = nonblocking_listener(&port);
	ASSERT_NE(lfd, -1);
	struct spare sp;
	ASSERT_EQ(spare_open(&sp), 0);
	int client = client_socket();
	ASSERT_NE(client, -1);
	{
		NoMoreDescriptors limit;
		ASSERT_TRUE(limit.held());
		ASSERT_TRUE(connect_to(client, port));
		struct pollfd pl = { lfd, POLLIN, 0 };
		ASSERT_EQ(poll(&pl, 1, 5000), 1);
		int fd = spare_accept(lfd, nullptr, nullptr, SOCK_CLOEXEC);
		int err = errno;
		ASSERT_EQ(fd, -1);
		bool away = false;
		EXPECT_EQ(spare_accept_failed(&sp, lfd, err, kNo, &away),
		    SPARE_AGAIN);
		EXPECT_TRUE(away);
		EXPECT_NE(sp.fd, -1);
		EXPECT_EQ(dup(0), -1) << "a number was left free";
		// Nobody else waits: done, spare kept.
		fd = spare_accept(lfd, nullptr, nullptr, SOCK_CLOEXEC);
		err = errno;
		ASSERT_EQ(fd, -1);
		int kept = sp.fd;
		EXPECT_EQ(spare_accept_failed(&sp, lfd, err, kNo, &away),
		    SPARE_DONE);
		EXPECT_EQ(sp.fd, kept);
	}
	char buf[8] = "";
	EXPECT_TRUE(read_exact(client, buf, sizeof(kNo) - 1, 5000));
	EXPECT_EQ(std::string(buf, sizeof(kNo) - 1), kNo);
	EXPECT_TRUE(wait_closed(client, 5000));
	close(client);
	spare_close(&sp);
	close(lfd);
}

// Two servers out of descriptors, each with a client at the same time,
// over and over: each turns every one of its clients away, neither takes
// the number the other gave up for a moment (it would serve that client
// as if descriptors were there, and leave the other without a spare, in
// a pause).
TEST(Spare, TwoServersNeverTakeEachOthersSpare)
{
	// Two client sockets a round, made beforehand: up to the hard limit.
	struct rlimit rl;
	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	const int kRounds = (int)std::min<rlim_t>(1000, (rl.rlim_max - 64) / 2);
	Server a, b;
	int pa, pb;
	a.lfd = nonblocking_listener(&pa);
	b.lfd = nonblocking_listener(&pb);
	ASSERT_NE(a.lfd, -1);
	ASSERT_NE(b.lfd, -1);
	ASSERT_EQ(spare_open(&a.sp), 0);
	ASSERT_EQ(spare_open(&b.sp), 0);
	std::vector<int> clients;
	for (int i = 0; i < 2 * kRounds; i++) {
		int fd = client_socket();
		ASSERT_NE(fd, -1) << strerror(errno);
		clients.push_back(fd);
	}
	// The threads run before the limit comes down: a sanitizer's
	// runtime may want a descriptor to start or end one.
	std::atomic<bool> stop{false};
	std::atomic<int> running{0};
	std::thread ta([&] { running++; a.run(stop); });
	std::thread tb([&] { running++; b.run(stop); });
	while (running < 2)
		std::this_thread::yield();
	int done = 0;
	bool held;
	{
		NoMoreDescriptors limit;
		held = limit.held();
		for (int i = 0; held && i < kRounds; i++) {
			int ca = clients[2 * i], cb = clients[2 * i + 1];
			if (!connect_to(ca, pa) || !connect_to(cb, pb))
				break;
			if (!wait_closed(ca, 5000) || !wait_closed(cb, 5000))
				break;
			done++;
		}
	}
	// The threads end with descriptors back, for the same reason.
	stop = true;
	ta.join();
	tb.join();
	ASSERT_TRUE(held);
	EXPECT_EQ(done, kRounds);
	EXPECT_EQ(a.accepted + b.accepted, 0) << "a client was served with a "
	    "spare's number";
	EXPECT_EQ(a.paused + b.paused, 0) << "a server lost its spare";
	EXPECT_EQ(a.turned, done);
	EXPECT_EQ(b.turned, done);
	EXPECT_NE(a.sp.fd, -1);
	EXPECT_NE(b.sp.fd, -1);
	for (int fd : clients)
		close(fd);
	spare_close(&a.sp);
	spare_close(&b.sp);
	close(a.lfd);
	close(b.lfd);
}
