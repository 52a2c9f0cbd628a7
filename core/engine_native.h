/* SPDX-License-Identifier: Apache-2.0
 *
 * The native engine's methods, exported so that other engines (the test-only
 * breach engines among them) can run them and change one thing.
 */
#ifndef CN_ENGINE_NATIVE_H
#define CN_ENGINE_NATIVE_H

#include <seccomp.h>

#include "creds.h"
#include "engine.h"

extern const struct cn_engine cn_engine_native;

/* The rules of each flow: what a caller may ask for. PrepareConfig applies
 * them; the master's InitConfig applies them again to what STAGE1 sent. */
int cn_native_check_flow(struct cn_launch *launch, struct cn_error *err);
/* The container process's final credentials, from launch->cfg, for cn_creds_apply(). */
void cn_native_creds_target(const struct cn_launch *launch, struct cn_creds_target *t);
/* The container process's drop, in StartProcess's order: rlimits, priorities (root's
 * before the drop, others' after), seccomp (before the drop without no_new_privs; then
 * *filter is loaded and NULL, else left for the caller to load last), cn_creds_apply().
 * *filter may come compiled; the caller releases what is left of it on failure. */
int cn_native_drop(struct cn_launch *launch, scmp_filter_ctx *filter, struct cn_error *err);
/* Set KEY=VALUE in env, replacing KEY's value when it is there. */
int cn_native_set_env(struct cn_strv *env, const char *kv, struct cn_error *err);

/* The process features a launch and an exec share, each in the stage that does it:
 * Config: --tty, --console-size (and --console-socket's need of a terminal), --umask,
 * --scheduler, --nice, --ioprio, --group-add into cfg (an exec takes only the first three). */
int cn_native_apply_process_options(struct cn_config *cfg, const struct cn_options *o, struct cn_error *err);
/* MASTER, CreateContainer: without a configured size a relayed pty starts with the caller's
 * terminal's, and follows it. */
void cn_native_console_size_from_caller(struct cn_launch *launch);
/* StartProcess, after the drop: a new pty from the container's devpts as stdio and controlling
 * terminal; its master end goes to the master over launch->sync_fd (CN_MSG_CONSOLE). */
int cn_native_send_new_terminal(struct cn_launch *launch, struct cn_error *err);

#endif
