/* Subcommands, one file each (cmd_NAME.c). Each returns 0 or -errno after
 * printing its one error line. */
#ifndef MEMSCOPE_COMMANDS_H
#define MEMSCOPE_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_oom(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
