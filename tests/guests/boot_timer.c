/* boot_timer: a byte write of 123 to 0xC0000000 makes the VMM log "Guest-boot-time = ...". */
#include "lib.h"

#define BOOT_TIMER_ADDR	 0xC0000000u
#define BOOT_TIMER_MAGIC 123

int main(void);
int main(void)
{
	mmio_write8(BOOT_TIMER_ADDR, BOOT_TIMER_MAGIC);
	putln("SUCCESS");
	reset();
}
