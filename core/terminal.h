/* SPDX-License-Identifier: Apache-2.0
 *
 * The container's console: a pty made inside the container (from its own
 * devpts instance, so the name it sees is its own /dev/pts/N) and, on the host
 * side, either handed to a --console-socket or relayed to cnlaunch's stdio.
 */
#ifndef CN_TERMINAL_H
#define CN_TERMINAL_H

#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "error.h"

/* STAGE2, after pivot_root and the final drop (the pty belongs to the target
 * user): a new pty whose peer becomes stdin, stdout, stderr and the controlling
 * terminal of a new session. rows/cols 0 keep the kernel's size. */
int cn_terminal_create(uint32_t rows, uint32_t cols, int *master, struct cn_error *err);

/* MASTER: copy between its stdio and the pty master while the process runs.
 * When stdin is a terminal it goes raw for the relay's lifetime, and with
 * follow_size its later sizes (SIGWINCH) go to the pty. */
struct cn_console_relay {
	int console;
	bool input_open, stdin_tty, follow_size;
	struct termios saved;
};

void cn_console_relay_begin(struct cn_console_relay *r, int console, bool follow_size);
/* Data is ready on the pty: to stdout. Returns false once the pty has no peer left. */
bool cn_console_relay_output(struct cn_console_relay *r);
/* Data (or EOF) on stdin: to the pty; EOF becomes the terminal's end-of-file character. */
void cn_console_relay_input(struct cn_console_relay *r);
/* SIGWINCH: the caller's terminal changed size. */
void cn_console_relay_resize(struct cn_console_relay *r);
/* The process is gone: copy what it wrote last, and give stdin its modes back. */
void cn_console_relay_end(struct cn_console_relay *r);

#endif
