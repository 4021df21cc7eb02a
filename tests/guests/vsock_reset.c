/*
 * vsock_reset: brings up ember's vsock device (three queues: rx, tx, event),
 * posts one buffer on the event queue, prints "vsock: waiting for an event"
 * and polls the event queue. For tests/snapshot.sh: snapshotted while it
 * waits, the restored VM's device sends VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
 * (id 0), and the payload prints "vsock: event id N, N bytes" and SUCCESS.
 * Without a snapshot no event comes: after about a minute of TSC it fails.
 * Polling only; small on purpose (CPL0 code is interpreted on kvm_pvm).
 */
#include "virtio.h"

#define WAIT_CYCLES 200000000000ULL /* about a minute of TSC, however slow */

static struct virtq vqs[3]; /* rx, tx, event */
static volatile uint32_t event[2];

int main(void);
int main(void)
{
	uint32_t id, len;

	virtio_find(19, 8, "no virtio-mmio v2 vsock device");
	virtio_begin();
	virtio_features_ok(0);
	for (uint32_t q = 0; q < 3; q++)
		virtq_setup(&vqs[q], q);
	virtio_driver_ok();
	event[0] = event[1] = 0xeeeeeeee;
	vqs[2].desc[0] = (struct virtq_desc){(uint32_t)event, sizeof(event), VIRTQ_DESC_F_WRITE, 0};
	virtq_post(&vqs[2], 0);
	virtq_notify(&vqs[2]);
	putln("vsock: waiting for an event");
	id = virtq_wait_used(&vqs[2], WAIT_CYCLES, "no event", &len);
	print("vsock: event id %u, %u bytes, buffer %u\n", event[0], len, id);
	if (event[0] != 0 || len != 4 || event[1] != 0xeeeeeeee)
		fail("not a transport reset event");
	putln("SUCCESS");
	reset();
}
