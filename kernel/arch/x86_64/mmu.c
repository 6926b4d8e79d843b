// SPDX-License-Identifier: MIT
#include <stdint.h>

#include <helix/arch/cpu.h>
#include <helix/arch/memory.h>

#define PML4_LOWER_HALF_ENTRIES 256
#define PTE_ADDRESS_MASK        0x000ffffffffff000ull

void hx_mmu_drop_identity_map(void)
{
	uint64_t cr3 = hx_read_cr3();
	uint64_t *pml4 = hx_phys_to_virt(cr3 & PTE_ADDRESS_MASK);

	/* boot.S used only PML4[0]; clear the whole lower half to state the invariant. */
	for (int i = 0; i < PML4_LOWER_HALF_ENTRIES; i++)
		pml4[i] = 0;
	hx_write_cr3(cr3);
}
