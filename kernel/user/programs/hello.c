// SPDX-License-Identifier: MIT
/* hello: the child init spawns. Prints its pid and exits with status 7, which init's wait checks.
 */
#include <helix/syscall/user.h>
#include <helix/user/ulib.h>

int main(void)
{
	uprintf("hello: pid %ld, exiting with status 7\n", hx_user_getpid());
	return 7;
}
