#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inspector.h"
#include "inspector_optim.h"
#include "inspector_ws.h"
#include "log.h"

/* V8's sampling heap profiler names the frames on the machine stack: a
 * function TurboFan inlined into its caller has none, and its bytes show
 * under the caller. For the window, memscope turns inlining off and drops the
 * code already optimized, so that hot code is optimized again with a frame per
 * function. The expression reaches node's v8 module from the global scope
 * (no require there): process.getBuiltinModule (node >= 20.16), else the main
 * module's require. A process started with --no-turbo-inlining is left as it
 * is, and so is its flag at close. It answers 'ok', 'own' or why not. */
#define INLINING_EXPR(flag)						\
	"(()=>{try{const a=process.execArgv.join(' ')+' '+"		\
	"(process.env.NODE_OPTIONS||'');"				\
	"if(/--no-turbo[-_]inlining/.test(a))return 'own';"		\
	"const m=process.getBuiltinModule?process.getBuiltinModule('v8'):"	\
	"process.mainModule&&process.mainModule.require('v8');"	\
	"if(!m)return 'its v8 module is out of reach';"			\
	"m.setFlagsFromString('" flag "');return 'ok'}"		\
	"catch(e){return String(e)}})()"

/* Evaluates expr (no double quote or backslash in it: it goes into JSON as
 * it is) in the process; val gets the string it returns. */
static int eval_string(struct ws *w, int *id, const char *expr, char *val, size_t len)
{
	struct json_object *root = NULL, *o;
	size_t plen = strlen(expr) + 64, rlen;
	char *params = malloc(plen), *reply;
	int err;

	if (!params)
		return -ENOMEM;
	snprintf(params, plen, "{\"expression\":\"%s\",\"returnByValue\":true}", expr);
	err = inspector_ws__call(w, (*id)++, "Runtime.evaluate", params, INSPECTOR_CALL_WAIT_S,
		      INSPECTOR_MSG_MAX, &reply, &rlen);
	free(params);
	if (err)
		return err;
	root = json_tokener_parse(reply);
	err = -EPROTO;
	if (root && json_object_object_get_ex(root, "result", &o) &&
	    json_object_object_get_ex(o, "result", &o) &&
	    json_object_object_get_ex(o, "value", &o) && json_object_is_type(o, json_type_string)) {
		snprintf(val, len, "%s", json_object_get_string(o));
		err = 0;
	}
	json_object_put(root);
	return err;
}

/* Turns inlining off (off) or back on; enum inspector_step, why filled when
 * refused. */
static int set_inlining(struct ws *w, int *id, bool off, char *why, size_t len)
{
	char val[160];
	int err = eval_string(w, id, off ? INLINING_EXPR("--no-turbo-inlining")
					 : INLINING_EXPR("--turbo-inlining"), val, sizeof(val));

	if (err) {
		snprintf(why, len, "Runtime.evaluate failed: %s", strerror(-err));
		return INSPECTOR_STEP_REFUSED;
	}
	if (!strcmp(val, "own"))
		return INSPECTOR_STEP_OWN;
	if (strcmp(val, "ok")) {
		snprintf(why, len, "v8.setFlagsFromString: %s", val);
		return INSPECTOR_STEP_REFUSED;
	}
	return INSPECTOR_STEP_DONE;
}

/* Drops every optimized function: starting precise coverage makes V8
 * deoptimize all code (optimized code does not count calls), and stopping it
 * at once returns to best-effort coverage, V8's default, so nothing is
 * counted afterwards. */
static int drop_optimized(struct ws *w, int *id, uint32_t *pause_us, char *why, size_t len)
{
	static const char *const calls[][2] = {
		{ "Profiler.enable", "{}" },
		{ "Profiler.startPreciseCoverage", "{\"callCount\":true,\"detailed\":false}" },
		{ "Profiler.stopPreciseCoverage", "{}" },
		{ "Profiler.disable", "{}" },
	};
	double t0 = 0;
	char *reply;
	size_t rlen;

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int err;

		if (i == 1)
			t0 = cli_now();
		err = inspector_ws__call(w, (*id)++, calls[i][0], calls[i][1], INSPECTOR_CALL_WAIT_S,
			      INSPECTOR_MSG_MAX, &reply, &rlen);

		if (err) {
			snprintf(why, len, "%s failed: %s", calls[i][0], strerror(-err));
			/* coverage left precise would count every call from now on */
			if (i >= 2)
				snprintf(why + strlen(why), len - strlen(why),
					 "; precise coverage may stay on");
			return INSPECTOR_STEP_REFUSED;
		}
		if (i == 1)
			*pause_us = (uint32_t)((cli_now() - t0) * 1e6);
	}
	return INSPECTOR_STEP_DONE;
}

/* Both steps, before sampling starts; a step refused is said, not fatal. */
void inspector_optim__off(struct ws *w, int *id, bool keep, bool coverage_busy, struct optim_msg *m)
{
	*m = (struct optim_msg){ INSPECTOR_STEP_SKIPPED, INSPECTOR_STEP_SKIPPED, 0, "" };
	if (keep)
		return;
	m->inlining = set_inlining(w, id, true, m->why, sizeof(m->why));
	if (m->inlining == INSPECTOR_STEP_REFUSED)
		return;	/* optimized again with inlining: dropping the code buys nothing */
	if (coverage_busy) {
		snprintf(m->why, sizeof(m->why), "NODE_V8_COVERAGE is set: its precise coverage "
			 "is not memscope's to stop, so code optimized before the window keeps "
			 "its inlining");
		m->deopt = INSPECTOR_STEP_REFUSED;
		return;
	}
	m->deopt = drop_optimized(w, id, &m->pause_us, m->why, sizeof(m->why));
}

/* Inlining back on and, when the window's start dropped the optimized code,
 * that code dropped again: what TurboFan optimized during the window has no
 * inlining and would keep running so (measured up to a third slower) until
 * V8 happens to optimize it again. */
void inspector_optim__restore(struct ws *w, int *id, struct optim_restore *r)
{
	char why[160];

	r->restored = set_inlining(w, id, false, why, sizeof(why)) != INSPECTOR_STEP_REFUSED;
	if (!r->restored) {
		log_debug("inspector: inlining not restored: %s", why);
		return;
	}
	if (r->redrop)
		r->end_deopt = drop_optimized(w, id, &r->pause_us, why, sizeof(why));
}
