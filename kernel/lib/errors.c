// SPDX-License-Identifier: MIT
#include <helix/errors.h>

struct error_entry {
	int number;
	const char *name;
	const char *text;
};

static const struct error_entry errors[] = {
#define HX_ERROR_ENTRY(name, number, text) { number, "HX_" #name, text },
	HX_ERRORS(HX_ERROR_ENTRY)
#undef HX_ERROR_ENTRY
};

static const struct error_entry *find(int err)
{
	/* Unsigned negation: INT_MIN has no positive int. */
	unsigned number = err < 0 ? 0u - (unsigned)err : (unsigned)err;
	for (unsigned i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		if ((unsigned)errors[i].number == number)
			return &errors[i];
	}
	return 0;
}

const char *hx_error_name(int err)
{
	const struct error_entry *e;

	if (err == 0)
		return "OK";
	e = find(err);
	return e ? e->name : "HX_E?";
}

const char *hx_strerror(int err)
{
	const struct error_entry *e;

	if (err == 0)
		return "success";
	e = find(err);
	return e ? e->text : "unknown error";
}
