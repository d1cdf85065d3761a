/*
 * trail.c - formats conflict trail entries. Pure: libc and our own
 * serializers.
 */
#include "trail.h"

#include <string.h>

static void add_str(struct sbuf *sb, const char *key, const char *v)
{
	sbuf_addf(sb, ",\"%s\":", key);
	sbuf_add_json_str(sb, v ? v : "", v ? strlen(v) : 0);
}

void trail_entry_prefix(const struct trail_entry *t, struct sbuf *sb)
{
	sbuf_adds(sb, TRAIL_ENTRY_START "\"collection\":");
	sbuf_add_json_str(sb, t->collection, strlen(t->collection));
	add_str(sb, "id", t->id);
	add_str(sb, "policy", policy_name(t->policy));
	add_str(sb, "winner", t->winner);
	if (t->reason) {
		add_str(sb, "fallback", policy_name(t->fallback));
		add_str(sb, "reason", t->reason);
	}
	sbuf_adds(sb, t->changed ? ",\"applied\":true" : ",\"applied\":false");
	sbuf_adds(sb, ",\"stored\":");
	doc_serialize_brief(t->stored, sb);
	sbuf_adds(sb, ",\"incoming\":");
	doc_serialize_brief(t->incoming, sb);
	if (t->asked) {
		sbuf_addf(sb, ",\"resolver\":{\"status\":%ld,\"ms\":%lld,\"answer\":",
			  t->resolver_status, (long long)t->resolver_ms);
		if (t->answer)
			sbuf_add(sb, t->answer, t->answer_len);
		else
			sbuf_adds(sb, "null");
		sbuf_addc(sb, '}');
	}
	add_str(sb, "request_id", t->request_id);
	add_str(sb, "node", t->node);
	sbuf_addf(sb, ",\"time\":%lld,\"offset\":\"", (long long)t->time_ms);
}

bool trail_is_entry(const char *buf, size_t len)
{
	return len >= TRAIL_ENTRY_START_LEN &&
	       memcmp(buf, TRAIL_ENTRY_START, TRAIL_ENTRY_START_LEN) == 0;
}
