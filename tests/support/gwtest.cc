// gwtest.cc -- run a gateway in-process (or as a process) from config text.
#include "gwtest.h"

#include <gtest/gtest.h>

#include <linux/capability.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <regex.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "net.h"

#include "cfg.h"

TestDir::TestDir()
{
	char tmpl[] = "/tmp/gwtest.XXXXXX";
	const char *d = mkdtemp(tmpl);

	dir_ = d ? d : "";
}

TestDir::~TestDir()
{
	std::error_code ec;

	if (!dir_.empty())
		std::filesystem::remove_all(dir_, ec);
}

std::string
TestDir::path(const std::string &name) const
{
	return dir_ + "/" + name;
}

std::string
TestDir::write(const std::string &name, const std::string &text) const
{
	std::string p = path(name);
	std::ofstream(p) << text;
	return p;
}

std::string
test_preamble(const std::string &defaults_extra)
{
	return "version = 1;\n"
	    "log = { level = \"info\"; };\n"
	    "status = { listen = \"\"; };\n"
	    "control = { socket = \"\"; };\n"
	    "watchdog = { period_ms = 50; };\n"
	    "defaults = {\n"
	    "  io_timeout_ms = 100;\n"
	    "  connect_timeout_ms = 1000;\n"
	    "  backoff = { min_ms = 20; max_ms = 200; };\n" +
	    defaults_extra +
	    "};\n";
}

std::string
test_preamble_with(const std::string &sock, bool status)
{
	std::string p = test_preamble();
	const std::string st = "status = { listen = \"\"; };";
	const std::string ctl = "control = { socket = \"\"; };";

	if (status)
		p.replace(p.find(st), st.size(),
		    "status = { listen = \"127.0.0.1:0\"; };");
	p.replace(p.find(ctl), ctl.size(), "control = { socket = \"" + sock +
	    "\"; };");
	return p;
}

bool
control_serving(const GatewayProcess &g)
{
	return eventually([&] {
		return g.log_contains("control: serving gwctl's commands on ");
	    }, 5000);
}

DeviceProcess::DeviceProcess(const std::string &preamble, const std::string &name,
    const std::string &extra, const RunAs *as)
{
	int dport;

	dl_ = tcp_listen(&dport);
	g.reset(new GatewayProcess(preamble + "devices = (\n  { name = \"" +
	    name + "\"; " + extra + " device = { connect = \"127.0.0.1:" +
	    std::to_string(dport) + "\"; }; upstream = { listen = "
	    "\"127.0.0.1:0\"; }; }\n);\n", as));
	dev = tcp_accept(dl_, 5000);
	int uport = logged_port(*g, name + "/upstream: listening");
	if (dev == -1 || uport <= 0 || !eventually([&] {
	    return g->log_contains(name + "/device up: "); }, 5000))
		return;
	up = tcp_connect(uport, 5000);
	if (up != -1 && !eventually([&] { return g->log_contains(name +
	    "/upstream up: "); }, 5000)) {
		close(up);
		up = -1;
	}
}

DeviceProcess::~DeviceProcess()
{
	for (int fd : { dl_, dev, up })
		if (fd != -1)
			close(fd);
}

InProcessGateway::InProcessGateway(const std::string &text)
{
	std::string p = dir_.write("gw.conf", text);
	struct cfg *cfg = nullptr;
	char err[512];
	int fd = open(dir_.path("gw.log").c_str(),
	    O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);

	if (fd != -1) {
		saved_stderr_ = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if (saved_stderr_ != -1)
			dup2(fd, 2);
		close(fd);
	}
	if (cfg_load(p.c_str(), &cfg, stderr) == -1)
		return;
	gw_ = gw_start(cfg, err, sizeof(err));
	if (gw_ == nullptr)
		fprintf(stderr, "gw_start: %s\n", err);
}

InProcessGateway::~InProcessGateway()
{
	stop();
}

void
InProcessGateway::stop()
{
	if (gw_ != nullptr)
		gw_stop(gw_);
	gw_ = nullptr;
	if (saved_stderr_ != -1) {
		dup2(saved_stderr_, 2);
		close(saved_stderr_);
		saved_stderr_ = -1;
		std::string l = log();
		if (write(2, l.data(), l.size()) < 0)
			return;	// nowhere to say so
	}
}

std::string
InProcessGateway::log() const
{
	std::ifstream in(dir_.path("gw.log"));
	std::stringstream ss;

	ss << in.rdbuf();
	return ss.str();
}

// In a child, before exec: become as.uid and as.gid, keeping only
// as.keep_cap (ambient, so that it survives the exec), if any. System
// calls only, as a child of a threaded process must.
static bool
become(const RunAs &as)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	const bool keep = as.keep_cap >= 0;

	if (keep && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) == -1)
		return false;
	if (setgroups(0, nullptr) == -1 ||
	    setresgid(as.gid, as.gid, as.gid) == -1 ||
	    setresuid(as.uid, as.uid, as.uid) == -1)
		return false;
	if (!keep)
		return true;
	auto &d = data[as.keep_cap / 32];
	d.effective = d.permitted = d.inheritable = 1u << (as.keep_cap % 32);
	return syscall(SYS_capset, &hdr, data) == 0 &&
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (long)as.keep_cap,
	    0L, 0L) == 0;
}

GatewayProcess::GatewayProcess(const std::string &text, const RunAs *as)
{
	std::string conf = dir_.write("gw.conf", text);
	std::string logf = dir_.path("gw.log");
	std::string bin = GW_GATEWAYD;
	std::error_code ec;

	if (as != nullptr) {
		// Another user must reach the binary and read the file.
		bin = dir_.path("gatewayd");
		if (!std::filesystem::copy_file(GW_GATEWAYD, bin, ec))
			ADD_FAILURE() << "cannot copy gatewayd: " << ec.message();
		chmod(bin.c_str(), 0755);
		chmod(conf.c_str(), 0644);
		chmod(dir_.path("").c_str(), 0755);
	}
	pid_ = fork();
	if (pid_ == 0) {
		int fd = open(logf.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != -1) {
			dup2(fd, 2);
			close(fd);
		}
		if (as != nullptr && !become(*as)) {
			static const char msg[] = "test: cannot change user\n";
			ssize_t n = write(2, msg, sizeof(msg) - 1);

			_exit(n < 0 ? 125 : 126);
		}
		execl(bin.c_str(), "gatewayd", "-c", conf.c_str(), (char *)nullptr);
		_exit(127);
	}
}

GatewayProcess::~GatewayProcess()
{
	if (pid_ > 0) {
		kill(pid_, SIGKILL);
		waitpid(pid_, nullptr, 0);
	}
}

int
GatewayProcess::wait_exit(int timeout_ms)
{
	int status;
	auto deadline = std::chrono::steady_clock::now() +
	    std::chrono::milliseconds(timeout_ms);

	while (pid_ > 0) {
		pid_t rc = waitpid(pid_, &status, WNOHANG);
		if (rc == pid_) {
			pid_ = -1;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		if (std::chrono::steady_clock::now() >= deadline)
			return -1;
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return -1;
}

int
GatewayProcess::signal_and_wait(int sig, int timeout_ms)
{
	if (pid_ <= 0)
		return -1;
	kill(pid_, sig);
	return wait_exit(timeout_ms);
}

std::string
GatewayProcess::log() const
{
	std::ifstream in(dir_.path("gw.log"));
	std::stringstream ss;

	ss << in.rdbuf();
	return ss.str();
}

// The snapshot of that link, the way the status server copies it.
static bool
find_link(struct gateway *gw, const char *dev, enum link_kind k,
    struct link_snap *out)
{
	struct metrics	m;
	bool		found = false;

	metrics_init(&m);
	gw_snapshot(gw, &m);
	for (size_t i = 0; i < m.n_links && !found; i++)
		if (strcmp(m.links[i].device, dev) == 0 &&
		    m.links[i].snap.kind == k) {
			*out = m.links[i].snap;
			found = true;
		}
	metrics_free(&m);
	return found;
}

bool
InProcessGateway::up(const char *dev, enum link_kind k)
{
	struct link_snap s;

	return find_link(gw_, dev, k, &s) && s.state == LINK_UP;
}

int
InProcessGateway::listen_port(const char *dev, enum link_kind k)
{
	struct link_snap s;
	const char *colon;

	if (!find_link(gw_, dev, k, &s) ||
	    (colon = strrchr(s.listen, ':')) == nullptr)
		return -1;
	return atoi(colon + 1);
}

std::string
last_line(const std::string &s)
{
	std::string t = s;

	while (!t.empty() && t.back() == '\n')
		t.pop_back();
	size_t nl = t.rfind('\n');
	return nl == std::string::npos ? t : t.substr(nl + 1);
}

unsigned
count_lines(const std::string &log, const std::string &what)
{
	std::istringstream in(log);
	std::string line;
	unsigned n = 0;

	while (std::getline(in, line))
		if (line.find(what) != std::string::npos)
			n++;
	return n;
}

int
logged_port(const std::function<std::string()> &log, const std::string &what,
    unsigned nth)
{
	int port = -1;

	eventually([&] {
		std::istringstream in(log());
		std::string line;
		unsigned seen = 0;
		while (std::getline(in, line)) {
			size_t at = line.find(what), on, colon;
			if (at == std::string::npos ||
			    (on = line.find(" on ", at)) == std::string::npos ||
			    (colon = line.rfind(':')) == std::string::npos ||
			    colon < on || ++seen < nth)
				continue;
			port = atoi(line.c_str() + colon + 1);
			return port > 0;
		}
		return false;
	}, 5000);
	return port;
}

int
logged_port(const GatewayProcess &g, const std::string &what, unsigned nth)
{
	return logged_port([&] { return g.log(); }, what, nth);
}

int
logged_port(const InProcessGateway &g, const std::string &what, unsigned nth)
{
	return logged_port([&] { return g.log(); }, what, nth);
}

bool
re_search(const std::string &s, const std::string &ere,
    std::vector<std::string> *groups)
{
	regex_t re;
	regmatch_t m[10];

	int rc = regcomp(&re, ere.c_str(), REG_EXTENDED);
	EXPECT_EQ(rc, 0) << "bad pattern: " << ere;
	if (rc != 0)
		return false;
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)s.size();
	bool found = regexec(&re, s.data(), 10, m, REG_STARTEND) == 0;
	if (found && groups != nullptr) {
		groups->clear();
		for (size_t i = 1; i <= re.re_nsub && i < 10; i++)
			groups->push_back(m[i].rm_so == -1 ? "" : s.substr(
			    (size_t)m[i].rm_so, (size_t)(m[i].rm_eo - m[i].rm_so)));
	}
	regfree(&re);
	return found;
}

bool
re_match(const std::string &s, const std::string &ere)
{
	return re_search(s, "^(" + ere + ")$");
}
