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

#endif
