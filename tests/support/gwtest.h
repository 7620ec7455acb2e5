// gwtest.h -- run a gateway in-process (or as a process) from config text.
#ifndef GW_TEST_GWTEST_H
#define GW_TEST_GWTEST_H

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway.h"

// How many lines of log contain what.
unsigned count_lines(const std::string &log, const std::string &what);

// The last line of s, without its newline.
std::string last_line(const std::string &s);

// A temporary directory, removed with its files on destruction.
class TestDir {
public:
	TestDir();
	~TestDir();
	std::string path(const std::string &name) const;
	std::string write(const std::string &name, const std::string &text) const;
private:
	std::string dir_;
};

// The preamble of a test config: quiet logging, no status server, no
// control socket, short timeouts; devices go after it ("devices = ( ...
// );").
std::string test_preamble(const std::string &defaults_extra = "");

// Loads text as a config and starts a gateway; stops it on destruction.
// While it runs, this process's stderr (fd 2), where the gateway logs,
// goes to a file that log() reads: the ports it bound are read from there
// as from a process's log. stop() puts stderr back and copies the file to
// it, so that a failing test still shows the gateway's log.
class InProcessGateway {
public:
	explicit InProcessGateway(const std::string &config_text);
	~InProcessGateway();
	bool ok() const { return gw_ != nullptr; }
	std::string log() const;
	struct gateway *gw() { return gw_; }
	// What the status server would show of that link of that device:
	// whether it is up, and the port it listens on (-1: no such link or
	// not listening).
	bool up(const char *dev, enum link_kind k);
	int listen_port(const char *dev, enum link_kind k);
	void stop();
private:
	TestDir dir_;
	struct gateway *gw_ = nullptr;
	int saved_stderr_ = -1;
};

// Whom a GatewayProcess runs as (the test must be root to ask): uid and
// gid, no supplementary groups, and no capability but keep_cap (a CAP_*
// number; -1: none), kept as an ambient capability, as the systemd unit
// grants its capabilities.
struct RunAs {
	uid_t uid;
	gid_t gid;
	int keep_cap;
};

// gatewayd as a child process: started with -c on the given config text,
// stderr captured to a file; killed (SIGKILL) on destruction if still up.
// With as, a copy of gatewayd in the test's directory runs as that user
// (whatever the modes of the directories above the build).
class GatewayProcess {
public:
	explicit GatewayProcess(const std::string &config_text,
	    const RunAs *as = nullptr);
	~GatewayProcess();
	pid_t pid() const { return pid_; }
	// Send sig; wait up to timeout_ms for the exit; returns the exit code,
	// 128+signal when killed by one, or -1 on timeout.
	int signal_and_wait(int sig, int timeout_ms);
	int wait_exit(int timeout_ms);
	std::string log() const;
	// Replace the config file's text (then send SIGHUP to reload it).
	void rewrite_config(const std::string &text) { dir_.write("gw.conf", text); }
	bool log_contains(const std::string &s) const { return log().find(s) != std::string::npos; }
private:
	TestDir dir_;
	pid_t pid_ = -1;
};

// The port in the nth line (1: the first) of log() that contains what and
// then " on [http://]HOST:PORT", as gatewayd logs the addresses it bound
// ("d1/upstream: listening on 127.0.0.1:41234", "status: serving ... on
// http://127.0.0.1:41235"), waiting for that line up to 5 s; -1 when it
// does not come.
int	logged_port(const std::function<std::string()> &log,
	    const std::string &what, unsigned nth = 1);
int	logged_port(const GatewayProcess &g, const std::string &what,
	    unsigned nth = 1);
int	logged_port(const InProcessGateway &g, const std::string &what,
	    unsigned nth = 1);

// test_preamble() with the control socket at sock ("": none) and, when
// status, the status server on 127.0.0.1:0.
std::string test_preamble_with(const std::string &sock, bool status);

// A gatewayd process relaying one device, name, that dials a listener of
// the test, its upstream listening on 127.0.0.1:0, with extra settings in
// the device's group. Once both links are up (a host's bytes before the
// device link would close the host: on_device_down = close), dev is the
// device's end of the device link and up a host's end of the upstream
// link; -1 when they did not come up within 5 s.
// Within 5 s, g's control socket serves (its log says so).
bool	control_serving(const GatewayProcess &g);

class DeviceProcess {
public:
	DeviceProcess(const std::string &preamble, const std::string &name,
	    const std::string &extra = "", const RunAs *as = nullptr);
	~DeviceProcess();
	int dev = -1, up = -1;
	std::unique_ptr<GatewayProcess> g;
private:
	int dl_ = -1;
};

// A POSIX extended regular expression found in s (which may hold NUL
// bytes); groups, when given, receives the parenthesised parts. A pattern
// that does not compile fails the calling test.
bool	re_search(const std::string &s, const std::string &ere,
	    std::vector<std::string> *groups = nullptr);
// The whole of s matches ere.
bool	re_match(const std::string &s, const std::string &ere);

#endif
