// SPDX-License-Identifier: MIT
/*
 * The simulated user address space of the hosted variant (helix/syscall/uaccess.h): one anonymous
 * mapping, laid out as
 *
 *	[guard page, PROT_NONE] [pages: the user space, base .. limit) [guard page, PROT_NONE]
 *
 * User addresses are the host addresses of the middle part. A per-page state byte (present,
 * writable) is the page map the copies check, page by page, before touching a page; protect()
 * changes it and mprotect()s the host pages to match, so code that touches user memory without
 * going through the copies crashes at once under the tests instead of silently working. No signal
 * handlers are involved: a copy never touches a page its state says it may not.
 *
 * Concurrency: a read-write lock orders copies (shared) against protect() (exclusive), so a copy
 * sees the whole page map before or after a change and can never touch a page that is being
 * mprotect()ed away under it. The lock prefers writers, so a stream of copies cannot starve a
 * protect(). The probe is only a hint (validation) and reads the state bytes without the lock,
 * atomically and relaxed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <helix/compiler.h>
#include <helix/errors.h>
#include <helix/platform.h>
#include <helix/syscall/uaccess.h>

#define PAGE          ((uint64_t)HX_USER_PAGE_SIZE)
#define SIM_MAX_BYTES (1ull << 30)

/* Page state bits. */
#define PAGE_PRESENT  0x1u
#define PAGE_WRITABLE 0x2u

struct uspace_sim {
	struct hx_uspace us;
	char *mapping;      /* the whole mapping, both guard pages included */
	size_t mapping_len; /* (pages + 2) * PAGE */
	size_t pages;       /* user pages between the guards */
	pthread_rwlock_t lock;
	_Atomic uint8_t state[]; /* per user page: PAGE_PRESENT | PAGE_WRITABLE */
};

static const struct hx_uspace_ops sim_ops;

static struct uspace_sim *sim_of(struct hx_uspace *us)
{
	if (!us || us->ops != &sim_ops)
		return NULL;
	return HX_CONTAINER_OF(us, struct uspace_sim, us);
}

static unsigned page_state(struct uspace_sim *sim, uint64_t addr)
{
	return atomic_load_explicit(&sim->state[(addr - sim->us.base) / PAGE],
	                            memory_order_relaxed);
}

/* [@addr, @addr + @len) inside [base, limit) without wrap-around (hx_uaccess_ok's rule; this
 * library does not link uaccess.c). */
static bool in_space(const struct uspace_sim *sim, uint64_t addr, size_t len)
{
	return addr >= sim->us.base && addr <= sim->us.limit && len <= sim->us.limit - addr;
}

/* The ops' precondition: the range was checked. Breaking it is a bug in the caller, not a fault. */
static void check_range(const struct uspace_sim *sim, uint64_t addr, size_t len, const char *op)
{
	if (!in_space(sim, addr, len))
		hx_panic("uspace_sim: %s of %zu bytes at 0x%llx outside [0x%llx, 0x%llx): the "
		         "caller skipped the range check",
		         op, len, (unsigned long long)addr, (unsigned long long)sim->us.base,
		         (unsigned long long)sim->us.limit);
}

/* Bytes from @addr to the end of its page, at most @len. */
static size_t page_chunk(uint64_t addr, size_t len)
{
	uint64_t left = PAGE - (addr & (PAGE - 1));

	return left < (uint64_t)len ? (size_t)left : len;
}

static int sim_copy_in(struct hx_uspace *us, void *dst, uint64_t src, size_t len)
{
	struct uspace_sim *sim = sim_of(us);
	char *out = dst;
	int ret = 0;

	check_range(sim, src, len, "copy_in");
	pthread_rwlock_rdlock(&sim->lock);
	while (len > 0) {
		size_t chunk = page_chunk(src, len);

		if (!(page_state(sim, src) & PAGE_PRESENT)) {
			ret = -HX_EFAULT;
			break;
		}
		memcpy(out, (const void *)(uintptr_t)src, chunk);
		out += chunk;
		src += chunk;
		len -= chunk;
	}
	pthread_rwlock_unlock(&sim->lock);
	return ret;
}

static int sim_copy_out(struct hx_uspace *us, uint64_t dst, const void *src, size_t len)
{
	struct uspace_sim *sim = sim_of(us);
	const char *in = src;
	int ret = 0;

	check_range(sim, dst, len, "copy_out");
	pthread_rwlock_rdlock(&sim->lock);
	while (len > 0) {
		size_t chunk = page_chunk(dst, len);
		unsigned state = page_state(sim, dst);

		if (!(state & PAGE_PRESENT) || !(state & PAGE_WRITABLE)) {
			ret = -HX_EFAULT;
			break;
		}
		memcpy((void *)(uintptr_t)dst, in, chunk);
		in += chunk;
		dst += chunk;
		len -= chunk;
	}
	pthread_rwlock_unlock(&sim->lock);
	return ret;
}

static long sim_copy_str_in(struct hx_uspace *us, char *dst, uint64_t src, size_t cap)
{
	struct uspace_sim *sim = sim_of(us);
	size_t done = 0;
	long ret = -HX_ENAMETOOLONG;

	check_range(sim, src, cap, "copy_str_in");
	pthread_rwlock_rdlock(&sim->lock);
	while (done < cap) {
		uint64_t addr = src + done;
		size_t chunk = page_chunk(addr, cap - done);
		const char *from = (const char *)(uintptr_t)addr;
		const char *nul;

		if (!(page_state(sim, addr) & PAGE_PRESENT)) {
			ret = -HX_EFAULT;
			break;
		}
		nul = memchr(from, '\0', chunk);
		if (nul) {
			size_t n = (size_t)(nul - from);

			memcpy(dst + done, from, n + 1);
			ret = (long)(done + n);
			break;
		}
		memcpy(dst + done, from, chunk);
		done += chunk;
	}
	pthread_rwlock_unlock(&sim->lock);
	return ret;
}

static int sim_probe(struct hx_uspace *us, uint64_t addr, size_t len, unsigned access)
{
	struct uspace_sim *sim = sim_of(us);
	unsigned need = PAGE_PRESENT | ((access & HX_UACCESS_WRITE) ? PAGE_WRITABLE : 0);

	if (!in_space(sim, addr, len))
		return -HX_EFAULT;
	while (len > 0) {
		size_t chunk = page_chunk(addr, len);

		if ((page_state(sim, addr) & need) != need)
			return -HX_EFAULT;
		addr += chunk;
		len -= chunk;
	}
	return 0;
}

static const struct hx_uspace_ops sim_ops = {
	.copy_in = sim_copy_in,
	.copy_out = sim_copy_out,
	.copy_str_in = sim_copy_str_in,
	.probe = sim_probe,
};

int hx_uspace_sim_create(size_t size, struct hx_uspace **out)
{
	pthread_rwlockattr_t attr;
	struct uspace_sim *sim;
	size_t pages;
	void *mapping;

	if (size == 0 || size > SIM_MAX_BYTES || sysconf(_SC_PAGESIZE) != (long)PAGE)
		return -HX_EINVAL;
	pages = (size_t)((size + PAGE - 1) / PAGE);
	sim = calloc(1, sizeof(*sim) + pages * sizeof(sim->state[0]));
	if (!sim)
		return -HX_ENOMEM;
	sim->pages = pages;
	sim->mapping_len = (pages + 2) * PAGE;
	mapping = mmap(NULL, sim->mapping_len, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mapping == MAP_FAILED) {
		free(sim);
		return -HX_ENOMEM;
	}
	sim->mapping = mapping;
	if (mprotect(sim->mapping + PAGE, pages * PAGE, PROT_READ | PROT_WRITE) != 0) {
		munmap(mapping, sim->mapping_len);
		free(sim);
		return -HX_ENOMEM;
	}
	for (size_t i = 0; i < pages; i++)
		atomic_init(&sim->state[i], PAGE_PRESENT | PAGE_WRITABLE);

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&sim->lock, &attr);
	pthread_rwlockattr_destroy(&attr);

	sim->us.base = (uint64_t)(uintptr_t)(sim->mapping + PAGE);
	sim->us.limit = sim->us.base + pages * PAGE;
	sim->us.ops = &sim_ops;
	sim->us.backend = sim;
	*out = &sim->us;
	return 0;
}

void hx_uspace_sim_destroy(struct hx_uspace *us)
{
	struct uspace_sim *sim = sim_of(us);

	if (!sim)
		return;
	pthread_rwlock_destroy(&sim->lock);
	munmap(sim->mapping, sim->mapping_len);
	free(sim);
}

int hx_uspace_sim_protect(struct hx_uspace *us, uint64_t addr, size_t len, unsigned prot)
{
	struct uspace_sim *sim = sim_of(us);
	uint64_t start, end;
	int host_prot;
	uint8_t state;

	if (!sim)
		return -HX_EINVAL;
	if (prot == 0) {
		host_prot = PROT_NONE;
		state = 0;
	} else if (prot == HX_UACCESS_READ) {
		host_prot = PROT_READ;
		state = PAGE_PRESENT;
	} else if (prot == (HX_UACCESS_READ | HX_UACCESS_WRITE)) {
		host_prot = PROT_READ | PROT_WRITE;
		state = PAGE_PRESENT | PAGE_WRITABLE;
	} else {
		return -HX_EINVAL;
	}
	if (!in_space(sim, addr, len))
		return -HX_EINVAL;
	if (len == 0)
		return 0;
	start = addr & ~(PAGE - 1);
	end = (addr + len + PAGE - 1) & ~(PAGE - 1); /* limit is page aligned: no overflow */

	pthread_rwlock_wrlock(&sim->lock);
	if (mprotect((void *)(uintptr_t)start, (size_t)(end - start), host_prot) != 0) {
		pthread_rwlock_unlock(&sim->lock);
		return -HX_ENOMEM;
	}
	for (uint64_t page = (start - us->base) / PAGE; page < (end - us->base) / PAGE; page++)
		atomic_store_explicit(&sim->state[page], state, memory_order_relaxed);
	pthread_rwlock_unlock(&sim->lock);
	return 0;
}

void *hx_uspace_sim_ptr(struct hx_uspace *us, uint64_t addr)
{
	struct uspace_sim *sim = sim_of(us);

	if (!sim || addr < us->base || addr > us->limit)
		return NULL;
	return (void *)(uintptr_t)addr;
}
