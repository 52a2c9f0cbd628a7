/* SPDX-License-Identifier: Apache-2.0
 *
 * The native engine's methods, exported so that other engines (the test-only
 * breach engines among them) can run them and change one thing.
 */
#ifndef CN_ENGINE_NATIVE_H
#define CN_ENGINE_NATIVE_H

#include "engine.h"

extern const struct cn_engine cn_engine_native;

/* The rules of each flow: what a caller may ask for. PrepareConfig applies
 * them; the master's InitConfig applies them again to what STAGE1 sent. */
int cn_native_check_flow(struct cn_launch *launch, struct cn_error *err);

#endif
