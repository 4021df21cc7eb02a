/* hello: the smallest payload. Checks the PVH start info, prints the command line, succeeds. */
#include "lib.h"

int main(void);
int main(void)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)pvh_start_info;

	putln("Hello from ember guest");
	if (si == NULL)
		fail("no hvm_start_info (%ebx was 0)");
	if (si->magic != HVM_START_MAGIC) {
		print("start_info at %x: magic %x\n", (uint32_t)si, si->magic);
		fail("bad hvm_start_info magic");
	}
	print("start_info at %x: version %u, flags %x\n", (uint32_t)si, si->version, si->flags);

	if (si->cmdline_paddr == 0) {
		putln("cmdline: (none)");
	} else if (si->cmdline_paddr >> 32) {
		fail("cmdline_paddr above 4 GiB");
	} else {
		const char *p = (const char *)(uint32_t)si->cmdline_paddr;
		int n = 0;

		puts("cmdline: ");
		while (p[n] && n < 512)
			uart_putc(p[n++]);
		if (p[n])
			fail("cmdline not NUL-terminated within 512 bytes");
		uart_putc('\n');
	}
	putln("SUCCESS");
	reset();
}
