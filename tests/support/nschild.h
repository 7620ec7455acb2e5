// nschild.h -- run a test's body in a child process with namespaces of its
// own, so that it may mount over the host's files or own a network.
#ifndef GW_TEST_NSCHILD_H
#define GW_TEST_NSCHILD_H

#include <functional>
#include <string>

// Run body in a child process in a private mount namespace (every mount
// made private first, so nothing reaches the host) and, with the flags
// given, other namespaces (CLONE_NEWNET: a network of its own, with only
// lo, brought up). Where the host refuses them to us as we are, they are
// asked for inside a new user namespace that maps us to root. setup runs
// first in the child; false means this host cannot give the test what it
// needs. Returns the child's exit status: 0 when body returned "", 1 with
// body's reason in *why, 77 when the namespaces or setup are not to be
// had. A child that has not ended within 30 s is killed.
int	in_namespaces(int flags, const std::function<bool()> &setup,
	    const std::function<std::string()> &body, std::string *why);

// in_namespaces() as a test's whole body: skipped with skip_why where the
// host cannot give it, failed with body's reason.
void	expect_in_namespaces(int flags, const std::function<bool()> &setup,
	    const std::function<std::string()> &body,
	    const char *skip_why);

// Write text to path at once, in one write(2) (the file must exist);
// true when all went.
bool	write_whole(const char *path, const std::string &text);

#endif
