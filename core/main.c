/* SPDX-License-Identifier: Apache-2.0
 *
 * cnlaunch: run a container through the engine Operations stages. */
#include "starter.h"

int main(int argc, char **argv)
{
	return cn_starter_main(argc, argv);
}
