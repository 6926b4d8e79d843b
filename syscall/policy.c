// SPDX-License-Identifier: MIT
/*
 * The policy hook (hooks.h): per-process allow/deny rules, checked before anything else looks at
 * a call. A process's struct hx_policy holds a default action and at most one rule per number;
 * the rule has an action and, optionally, a flags rule on one argument. The two builders compose
 * in either order: hx_policy_set gives the number an action, hx_policy_restrict_flags adds a flags
 * rule (a number that only has a flags rule is allowed when its flags pass). So a denied number
 * stays denied whatever its flags, and an allowed one is allowed only with allowed flags.
 *
 * A denial records its own precise reason in ctx->failure (with by = "policy"): the gateway keeps
 * the first recorded failure and adds its generic "denied by a pre-hook" only when none is.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <helix/errors.h>
#include <helix/syscall/hooks.h>
#include <helix/syscall/syscall.h>

#define POLICY_HOOK_NAME "policy"

/* Linux's MAX_ERRNO: a denial is an error code in [-4095, -1]. */
#define MAX_ERRNO 4095

static bool is_error(int value)
{
	return value < 0 && value >= -MAX_ERRNO;
}

void hx_policy_init(struct hx_policy *policy, int default_action)
{
	if (!policy)
		return;
	policy->default_action = default_action;
	policy->count = 0;
}

/* The rule for @nr, or NULL. */
static struct hx_policy_rule *rule_for(struct hx_policy *policy, uint32_t nr)
{
	for (uint32_t i = 0; i < policy->count && i < HX_POLICY_MAX_RULES; i++)
		if (policy->rules[i].nr == nr)
			return &policy->rules[i];
	return NULL;
}

/* The rule for @nr, added (allow, no flags rule) if there is none; NULL when the policy is full. */
static struct hx_policy_rule *rule_add(struct hx_policy *policy, uint32_t nr)
{
	struct hx_policy_rule *rule = rule_for(policy, nr);

	if (rule)
		return rule;
	if (policy->count >= HX_POLICY_MAX_RULES)
		return NULL;
	rule = &policy->rules[policy->count++];
	rule->nr = nr;
	rule->action = 0;
	rule->flags_arg = -1;
	rule->allowed = 0;
	rule->flags_error = 0;
	return rule;
}

int hx_policy_set(struct hx_policy *policy, uint32_t nr, int action)
{
	struct hx_policy_rule *rule;

	if (!policy || (action != 0 && !is_error(action)))
		return -HX_EINVAL;
	rule = rule_add(policy, nr);
	if (!rule)
		return -HX_ENOSPC;
	rule->action = action; /* a flags rule, if any, stays: it applies when the action allows */
	return 0;
}

int hx_policy_restrict_flags(struct hx_policy *policy, uint32_t nr, int arg, uint64_t allowed,
                             int error)
{
	struct hx_policy_rule *rule;

	if (!policy || arg < 0 || arg >= HX_SYSCALL_ARGS || !is_error(error))
		return -HX_EINVAL;
	rule = rule_add(policy, nr);
	if (!rule)
		return -HX_ENOSPC;
	rule->flags_arg = (int8_t)arg;
	rule->allowed = allowed;
	rule->flags_error = error;
	return 0;
}

/* Record why the policy refused (unless something already did) and return @error. */
static int deny(struct hx_syscall_ctx *ctx, int error, int arg, const char *reason)
{
	if (!ctx->failure.error) {
		ctx->failure.error = error;
		ctx->failure.arg = arg;
		ctx->failure.reason = reason;
		ctx->failure.by = POLICY_HOOK_NAME;
	}
	return error;
}

static int policy_pre(struct hx_syscall_ctx *ctx, void *unused)
{
	const struct hx_policy *policy = ctx->caller ? ctx->caller->policy : NULL;
	const struct hx_policy_rule *rule = NULL;

	if (!policy)
		return 0;
	for (uint32_t i = 0; i < policy->count && i < HX_POLICY_MAX_RULES; i++) {
		/* Compared as 64 bits: a number above 2^32 matches no rule. */
		if (policy->rules[i].nr == ctx->nr) {
			rule = &policy->rules[i];
			break;
		}
	}
	if (!rule)
		return policy->default_action < 0
		           ? deny(ctx, policy->default_action, -1, "denied by the policy's default")
		           : 0;
	if (rule->action < 0)
		return deny(ctx, rule->action, -1, "syscall denied by the policy");
	if (rule->flags_arg >= 0 && rule->flags_arg < HX_SYSCALL_ARGS &&
	    (ctx->args[rule->flags_arg] & ~rule->allowed))
		return deny(ctx, rule->flags_error, rule->flags_arg,
		            "flag not allowed by the policy");
	return 0;
}

static struct hx_syscall_hook policy_hook = {
	.name = POLICY_HOOK_NAME,
	.priority = HX_HOOK_SECURITY,
	.pre = policy_pre,
};

struct hx_syscall_hook *hx_policy_hook(void)
{
	return &policy_hook;
}
