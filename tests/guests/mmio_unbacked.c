/* mmio_unbacked: an access to guest-physical space with nothing behind it must not kill the VM;
 * reads return all-ones, writes are dropped. */
#include "lib.h"

#define UNBACKED 0xC0800000u

int main(void);
int main(void)
{
	uint32_t v = mmio_read32(UNBACKED);

	print("read %x from %x\n", v, UNBACKED);
	if (v != 0xFFFFFFFFu)
		fail("unbacked MMIO read did not return all-ones");
	mmio_write32(UNBACKED, 0x12345678u);
	mmio_write8(UNBACKED + 3, 0x5a);
	v = mmio_read32(UNBACKED);
	if (v != 0xFFFFFFFFu) {
		print("read %x after write\n", v);
		fail("unbacked MMIO write was not dropped");
	}
	putln("SUCCESS");
	reset();
}
