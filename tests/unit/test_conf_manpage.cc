// test_conf_manpage.cc -- man/gatewayd.conf.5 documents every key of the
// daemon's key table with the range and default the daemon uses, and no
// key it does not know. It reads the table through cfg_keydocs() and
// cfg_keydoc_range() alone; entry() is the one place that knows how a key
// is written in the page.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

extern "C" {
#include "cfg.h"
#include "cfg_schema.h"
}

namespace {

const std::string kPage = GW_SOURCE_DIR "/man/gatewayd.conf.5";

std::string
text_of(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream ss;

	ss << in.rdbuf();
	return ss.str();
}

// s as roff source writes it: a double quote is \(dq.
std::string
roff(const std::string &s)
{
	std::string out;

	for (char c : s) {
		if (c == '"')
			out += "\\(dq";
		else
			out += c;
	}
	return out;
}

// How the page writes key k: its item line, then its range, unit and
// default, e.g. ".It Ic keepalive.idle_s\n.Pq 1..7200 s; default 2\n".
std::string
entry(const struct cfg_keydoc *k)
{
	char range[128];
	std::string def;

	switch (k->kind) {
	case CFG_KEY_INT:
		def = std::to_string(k->def);
		break;
	case CFG_KEY_ENUM:
		def = k->choices[k->def];
		break;
	case CFG_KEY_ADDR:
	case CFG_KEY_PATH:
		def = std::string("\"") + k->defstr + "\"";
		break;
	case CFG_KEY_BOOL:
		def = k->def ? "true" : "false";
		break;
	}
	std::string e = ".It Ic " + std::string(k->path) + "\n.Pq " +
	    roff(cfg_keydoc_range(k, range, sizeof(range)));
	if (k->unit[0] != '\0')
		e += " " + std::string(k->unit);
	e += k->required ? "; required" : "; default " + roff(def);
	return e + "\n";
}

}  // namespace

TEST(ConfManpage, EveryKeyWithItsRangeAndDefault)
{
	const std::string page = text_of(kPage);
	const struct cfg_keydoc *keys;
	int n;

	ASSERT_FALSE(page.empty()) << kPage;
	keys = cfg_keydocs(&n);
	ASSERT_GT(n, 0);
	for (int i = 0; i < n; i++)
		EXPECT_NE(page.find("\n" + entry(&keys[i])), std::string::npos)
		    << "man/gatewayd.conf.5 lacks, or has another range or "
		    "default for:\n" << entry(&keys[i]);
}

// An item with a range is a key of the table: a key the daemon dropped
// does not linger in the page.
TEST(ConfManpage, NoKeyTheDaemonDoesNotKnow)
{
	const std::string page = text_of(kPage);
	const std::string item = "\n.It Ic ";
	const struct cfg_keydoc *keys;
	std::set<std::string> known;
	size_t at = 0;
	int n, ranged = 0;

	ASSERT_FALSE(page.empty()) << kPage;
	keys = cfg_keydocs(&n);
	for (int i = 0; i < n; i++)
		known.insert(keys[i].path);
	while ((at = page.find(item, at)) != std::string::npos) {
		size_t b = at + item.size();
		size_t e = page.find('\n', b);
		std::string name = page.substr(b, e - b);
		at = e;
		if (page.compare(e, 5, "\n.Pq ") != 0)
			continue;
		ranged++;
		EXPECT_EQ(known.count(name), 1u)
		    << "man/gatewayd.conf.5 documents an unknown key: " << name;
	}
	EXPECT_EQ(ranged, n);
}
