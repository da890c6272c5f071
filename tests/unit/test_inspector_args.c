/* inspector__parse_args: what node's command line and NODE_OPTIONS say about
 * its inspector, so memscope refuses before it signals. */
#include <criterion/criterion.h>

#include "inspector.h"

static void parse(const char *cmd, size_t len, const char *opts, bool *dis, bool *insp,
		  uint16_t *port)
{
	inspector__parse_args(cmd, len, opts, dis, insp, port);
}

#define ARGS(s) s, sizeof(s)

Test(inspector_args, plain_node)
{
	bool d, i;
	uint16_t p;

	parse(ARGS("node\0app.js\0--inspect\0"), NULL, &d, &i, &p);
	cr_expect(!d && !i);	/* after the script: the script's own argument */
	cr_expect_eq(p, 9229);
}

Test(inspector_args, disable_sigusr1_and_inspect)
{
	bool d, i;
	uint16_t p;

	parse(ARGS("node\0--disable-sigusr1\0app.js\0"), NULL, &d, &i, &p);
	cr_expect(d && !i);
	parse(ARGS("node\0--inspect=0.0.0.0:9230\0app.js\0"), NULL, &d, &i, &p);
	cr_expect(!d && i);
	parse(ARGS("node\0--inspect-brk\0app.js\0"), NULL, &d, &i, &p);
	cr_expect(i);
	parse(ARGS("node\0--inspect-port=127.0.0.1:9333\0app.js\0"), NULL, &d, &i, &p);
	cr_expect(!i);
	cr_expect_eq(p, 9333);
	parse(ARGS("node\0--inspect-port\0009444\0app.js\0"), NULL, &d, &i, &p);
	cr_expect_eq(p, 9444);
}

Test(inspector_args, node_options)
{
	bool d, i;
	uint16_t p;

	parse(ARGS("node\0app.js\0"), "--max-old-space-size=100  --disable-sigusr1", &d, &i, &p);
	cr_expect(d && !i);
	parse(ARGS("node\0app.js\0"), "--inspect", &d, &i, &p);
	cr_expect(i);
	parse(ARGS("node\0app.js\0"), "--inspect-port=99999", &d, &i, &p);
	cr_expect_eq(p, 9229);	/* not a port */
	parse(ARGS("node"), "--inspectx", &d, &i, &p);
	cr_expect(!i);
}
