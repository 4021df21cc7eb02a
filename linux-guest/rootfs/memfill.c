/* memfill: makes the guest touch memory, for tests/linux.sh's balloon check.
 *   memfill MIB   maps MIB MiB of anonymous memory, writes a byte to every page (each
 *                 write faults a fresh page in), unmaps it and prints
 *                 "memfill: touched MIB MiB".
 * The pages go back to the guest's free lists, still resident on the host: free guest
 * memory that only a balloon (or free page reporting) hands back. Writes come from user
 * mode, which runs natively under kvm_pvm; the fault path is the guest kernel's.
 * x86-64 only, no libc (nolibc.h). */

#define PROT_READ     1
#define PROT_WRITE    2
#define MAP_PRIVATE   0x02
#define MAP_ANONYMOUS 0x20
#define PAGE_SIZE     4096ul

static const char prog[] = "memfill";
static int run(long argc, char **argv);

#include "nolibc.h"

static int run(long argc, char **argv)
{
	unsigned long mib = argc == 2 ? num(argv[1]) : 0, bytes, i;
	volatile char *p;
	long r;

	if (mib == 0 || mib > 65536) {
		out("usage: memfill MIB (1 to 65536)\n");
		return 2;
	}
	bytes = mib << 20;
	r = sys6(SYS_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (r < 0 && r > -4096)
		die("mmap", r);
	p = (volatile char *)r;
	for (i = 0; i < bytes; i += PAGE_SIZE)
		p[i] = 1;
	if ((r = sys3(SYS_munmap, (long)p, (long)bytes, 0)) < 0)
		die("munmap", r);
	out("memfill: touched ");
	out_num(mib);
	out(" MiB\n");
	return 0;
}
