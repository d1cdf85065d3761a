/*
 * config_print.c - what the gateway says of its configuration: --version,
 * --help (from the option and action tables, so it names exactly the
 * flags config_load accepts) and --print-config (a config file that
 * config_load reads back to the same configuration, secrets hidden).
 */
#include "config.h"
#include "config_opts.h"

#include <string.h>

#include "sbuf.h"
#include "version.h"

void config_print_version(FILE *out)
{
	fprintf(out, "syncgate %s\n", SYNCGATE_VERSION);
}

/* The value an option flag takes, as --help names it. */
static const char *value_name(const struct opt *o)
{
	if (o->type == T_BOOL)
		return "";
	if (o->choices)
		return o->choices;
	return o->type == T_STR ? "TEXT" : "N";
}

void config_print_help(FILE *out)
{
	char flag[96], col[160];

	fprintf(out,
		"syncgate %s - real-time sync gateway (REST, WebSocket, Redis)\n\n"
		"usage: syncgate [--config FILE] [--OPTION VALUE | --OPTION=VALUE]...\n\n"
		"Flags:\n", SYNCGATE_VERSION);
	for (size_t i = 0; i < config_nactions; i++) {
		const struct action_flag *a = &config_actions[i];

		snprintf(col, sizeof(col), "%s%s%s%s%s", a->alias ? a->alias : "",
			 a->alias ? ", " : "", a->flag, a->value ? " " : "",
			 a->value ? a->value : "");
		fprintf(out, "  %-40s %s\n", col, a->help);
	}
	fprintf(out,
		"\nOptions: the flag, its environment variable (the flag's name in\n"
		"capitals after SYNCGATE_), the config file key; then what it does\n"
		"[default; bounds]. Flags beat the environment, which beats the file.\n");
	for (size_t i = 0; i < config_nopts; i++) {
		const struct opt *o = &config_opts[i];

		if (!config_flag_name(o, flag, sizeof(flag)))
			continue;
		snprintf(col, sizeof(col), "--%s%s%s", flag, o->type == T_BOOL ? "" : " ",
			 value_name(o));
		fprintf(out, "  %-40s %s  (file: %s)\n      %s", col, o->env, o->name,
			o->help);
		if (o->type == T_BOOL)
			fprintf(out, " [%s; alone: true, or =true|false|1|0]", o->def);
		else if (o->type != T_STR)
			fprintf(out, " [%s; %lld..%lld]", o->def, (long long)o->min,
				(long long)o->max);
		else if (o->def[0])
			fprintf(out, " [%s]", o->def);
		fputc('\n', out);
	}
	fprintf(out, "\nEnvironment only (never flags: flags show up in ps):\n");
	for (size_t i = 0; i < config_nopts; i++)
		if (config_opts[i].flags & F_NOFILE)
			fprintf(out, "  %-40s %s\n", config_opts[i].env, config_opts[i].help);
	fprintf(out,
		"  %-40s %s\n  %-40s %s\n",
		"SYNCGATE_API_KEYS", "auth.api_keys as JSON (replaces the file's list)",
		"SYNCGATE_RESOLVER_SECRET",
		"HMAC secret of callback resolvers (or the variable a collection names)");
	fprintf(out,
		"\nThe config file (JSON, --config or SYNCGATE_CONFIG) takes the file keys\n"
		"as nested objects or dotted names, plus \"collections\",\n"
		"\"auth.default_permissions\", \"auth.api_keys\", \"auth.jwt_public_keys\"\n"
		"and \"ws.allowed_origins\" (see docs/configuration.md).\n");
}

static void print_str(struct sbuf *sb, const char *s)
{
	if (s)
		sbuf_add_json_str(sb, s, strlen(s));
	else
		sbuf_adds(sb, "null");
}

static void print_list(struct sbuf *sb, char *const *list, size_t n)
{
	sbuf_addc(sb, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_addc(sb, ',');
		print_str(sb, list[i]);
	}
	sbuf_addc(sb, ']');
}

/* Names and patterns; the hashes stay out (a short key's hash can be
 * searched for). */
static void print_keys(struct sbuf *sb, const struct apikey_set *s)
{
	sbuf_addc(sb, '[');
	for (size_t i = 0; i < s->n; i++) {
		const struct apikey *k = &s->keys[i];

		sbuf_adds(sb, i ? ",{\"name\":" : "{\"name\":");
		print_str(sb, k->name);
		sbuf_adds(sb, ",\"sha256\":\"" CONFIG_HIDDEN "\",\"read\":");
		print_list(sb, k->perms.read, k->perms.nread);
		sbuf_adds(sb, ",\"write\":");
		print_list(sb, k->perms.write, k->perms.nwrite);
		sbuf_addc(sb, '}');
	}
	sbuf_addc(sb, ']');
}

void config_print(const struct config *c, FILE *out)
{
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < config_nopts; i++) {
		const struct opt *o = &config_opts[i];
		const void *f = (const char *)c + o->off;

		sbuf_adds(&sb, i ? ",\n  " : "{\n  ");
		sbuf_add_json_str(&sb, o->name, strlen(o->name));
		sbuf_addc(&sb, ':');
		if (o->type == T_STR) {
			const char *v = *(char *const *)f;

			if ((o->flags & F_SECRET) && v && *v) {
				if (strcmp(o->name, "redis_url") == 0 && c->redis_password) {
					sbuf_adds(&sb, c->redis_cluster_seeds
							       ? "\"redis+cluster://" : "\"redis://");
					if (c->redis_user) /* [A-Za-z0-9_.-] only */
						sbuf_adds(&sb, c->redis_user);
					if (c->redis_cluster_seeds) /* checked host chars */
						sbuf_addf(&sb, ":" CONFIG_HIDDEN "@%s\"",
							  c->redis_cluster_seeds);
					else
						sbuf_addf(&sb, ":" CONFIG_HIDDEN "@%s:%d/%d\"",
							  c->redis_host, c->redis_port, c->redis_db);
					continue;
				}
				if (strcmp(o->name, "redis_url") != 0) {
					sbuf_adds(&sb, "\"" CONFIG_HIDDEN "\"");
					continue;
				}
			}
			print_str(&sb, v);
		} else if (o->type == T_BOOL) {
			sbuf_adds(&sb, *(const bool *)f ? "true" : "false");
		} else if (o->type == T_INT) {
			sbuf_addf(&sb, "%d", *(const int *)f);
		} else {
			sbuf_addf(&sb, "%lld", (long long)*(const int64_t *)f);
		}
	}
	sbuf_adds(&sb, ",\n  \"collections\":");
	policy_print(&c->colls, (uint64_t)c->history, (uint64_t)c->conflict_history,
		     &sb);
	sbuf_adds(&sb, ",\n  \"auth.default_permissions\":{\"read\":");
	print_list(&sb, c->default_perms.read, c->default_perms.nread);
	sbuf_adds(&sb, ",\"write\":");
	print_list(&sb, c->default_perms.write, c->default_perms.nwrite);
	sbuf_adds(&sb, "},\n  \"auth.api_keys\":");
	print_keys(&sb, &c->api_keys);
	sbuf_adds(&sb, ",\n  \"ws.allowed_origins\":");
	print_list(&sb, c->allowed_origins, c->norigins);
	sbuf_adds(&sb, ",\n  \"auth.jwt_public_keys\":[");
	for (size_t i = 0; i < c->npubkeys; i++) {
		const struct config_pubkey *k = &c->pubkeys[i];

		sbuf_adds(&sb, i ? ",{\"kid\":" : "{\"kid\":");
		print_str(&sb, k->kid);
		sbuf_adds(&sb, ",\"alg\":");
		print_str(&sb, k->alg);
		sbuf_adds(&sb, ",\"pem_file\":");
		print_str(&sb, k->pem_file);
		sbuf_addc(&sb, '}');
	}
	sbuf_adds(&sb, "]\n}\n");
	if (!sbuf_failed(&sb))
		fwrite(sb.buf, 1, sb.len, out);
	sbuf_release(&sb);
}
