/* reset: writing 0xFE to the i8042 command port must end the VM (ember exits with status 0). */
#include "lib.h"

int main(void);
int main(void)
{
	putln("resetting");
	outb(0x64, 0xFE);
	/* The VMM should not run us again; give it a moment in case the exit is asynchronous. */
	delay_cycles(100000000);
	putln("FAIL: still running after reset");
	halt_forever();
}
