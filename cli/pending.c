/* Commands whose modules have not landed yet (removed once they have). */
#include "cli.h"

#define PENDING(fn)							\
__attribute__((weak)) int						\
fn(struct cli *cli, const struct command *cmd, int argc, char **argv) \
{									\
	(void)cli; (void)argc; (void)argv;				\
	return cli_error(ERR_FAIL, "%s: not available yet", cmd->name);	\
}
PENDING(cmd_render)
PENDING(cmd_serve)
PENDING(cmd_status)

__attribute__((weak)) int
cli_after_commit(struct cli *cli, struct store *s, uint64_t rev, int nowait)
{
	(void)cli; (void)s; (void)rev; (void)nowait;
	return 0;
}

#include "render.h"
__attribute__((weak)) int
render_shipped_defaults(struct change *c, struct error *err)
{
	(void)c; (void)err;
	return 0;
}
