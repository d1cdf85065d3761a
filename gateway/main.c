/*
 * main.c - process entry: configuration, the one libuv loop, the parts in
 * order (Redis store, subscriber, hub, REST, WebSocket), signals, and the
 * graceful shutdown of DESIGN.md section 9. Wiring only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "app.h"
#include "config.h"
#include "devtoken.h"
#include "health_probe.h"
#include "hub.h"
#include "jwks.h"
#include "jwks_fetch.h"
#include "jwt_sig.h"
#include "keys.h"
#include "log.h"
#include "map.h"
#include "redis_live.h"
#include "redis_store.h"
#include "seen.h"
#include "resolver.h"
#include "rest.h"
#include "sync.h"
#include "version.h"
#include "ws.h"
#include "strx.h"

extern char **environ;

struct proc {
	struct app app;
	struct config cfg;
	struct rest *rest;
	struct ws *ws;
	uv_signal_t sigterm, sigint;
	uv_timer_t tick;
	uv_timer_t drain;
	uint64_t drain_deadline;
	bool stopped;
	char node[64];
};

static void finish(struct proc *p)
{
	if (p->stopped)
		return;
	p->stopped = true;
	uv_timer_stop(&p->drain);
	uv_close((uv_handle_t *)&p->drain, NULL);
	uv_close((uv_handle_t *)&p->tick, NULL);
	uv_close((uv_handle_t *)&p->sigterm, NULL);
	uv_close((uv_handle_t *)&p->sigint, NULL);
	/* lws closes every remaining socket (each leaves the hub) */
	ws_stop(p->ws);
	/* resolver calls in flight end now: their writes take the fallback
	 * and go on to Redis, which is still there */
	resolver_free(p->app.resolver);
	p->app.resolver = NULL;
	/* the verifier keeps the keys fetched last (released after the loop) */
	jwks_fetch_free(p->app.jwks);
	p->app.jwks = NULL;
	/* commands in flight fail now: requests waiting on them get their
	 * answers (MHD must still be running to take them), the hub its refs */
	store_free(p->app.store);
	live_free(p->app.live);
	p->app.store = NULL;
	p->app.live = NULL;
	rest_stop(p->rest);
	p->rest = NULL;
	log_info("stopped");
}

static void drain_cb(uv_timer_t *t)
{
	struct proc *p = t->data;

	if ((rest_inflight(p->rest) == 0 && ws_sessions(p->ws) == 0) ||
	    uv_now(t->loop) >= p->drain_deadline)
		finish(p);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct proc *p = s->data;

	if (p->app.draining) {
		if (signum == SIGINT)
			finish(p);
		return;
	}
	log_info("signal %d: draining (ready 503, closing sockets with 1001)", signum);
	p->app.draining = true;
	rest_quiesce(p->rest);
	ws_close_all(p->ws);
	/* resolver calls in flight end now, so that their writes take the
	 * fallback and answer within the drain instead of waiting out their
	 * resolver_timeout_ms; writes that still need a resolver fall back */
	resolver_free(p->app.resolver);
	p->app.resolver = NULL;
	p->drain_deadline = uv_now(s->loop) +
			    (uint64_t)(p->cfg.shutdown_timeout_s * 1000 - 500);
	uv_timer_start(&p->drain, drain_cb, 50, 50);
}

static void tick_cb(uv_timer_t *t)
{
	struct proc *p = t->data;

	hub_tick(p->app.hub, (int64_t)uv_now(t->loop));
}

/* --make-token SUBJECT: prints a 24-hour all-permissions token (the same
 * minting as POST /v1/dev/token). Returns the exit code. */
static int make_token(const struct config *cfg, const char *sub)
{
	char *tok;

	if (strlen(cfg->jwt_secret) < JWT_HS256_MIN_SECRET) {
		fprintf(stderr, "syncgate: --make-token needs SYNCGATE_JWT_SECRET "
				"(at least %d bytes)\n", JWT_HS256_MIN_SECRET);
		return 2;
	}
	tok = devtoken_mint(cfg->jwt_secret, strlen(cfg->jwt_secret), sub,
			    (int64_t)time(NULL), DEVTOKEN_TTL_MAX);
	if (!tok) {
		fprintf(stderr, "syncgate: cannot make a token for \"%s\"\n", sub);
		return 2;
	}
	printf("%s\n", tok);
	free(tok);
	return 0;
}

/* One PEM public key file into the verifier; 0 or -1 (logged). */
static int add_pem_file(struct jwt_verifier *v, const char *path,
			const char *kid, const char *alg)
{
	struct gw_error e = {0, ""};
	struct evp_pkey_st *pk;
	enum jwt_alg got = 0;
	size_t len = 0;
	char *pem;

	if (jwks_read_file(path, JWT_PEM_MAX, &pem, &len, &e)) {
		log_error("auth: public key: %s", e.msg);
		return -1;
	}
	pk = jwt_pkey_from_pem(pem, len, &got, &e);
	free(pem);
	if (!pk || jwt_verifier_add_pkey(v, pk, kid, alg ? jwt_alg_parse(alg) : 0,
					 &e)) {
		log_error("auth: public key %s: %s", path, e.msg);
		return -1;
	}
	log_info("auth: %s public key%s%s from %s", jwt_alg_name(got),
		 kid ? " kid " : "", kid ? kid : "", path);
	return 0;
}

/* auth.jwt_public_key (comma-separated paths) and auth.jwt_public_keys. */
static int add_pem_keys(struct proc *p)
{
	struct config *c = &p->cfg;
	char *list = strdup(c->jwt_public_key), *save = NULL, *tok;
	int rc = 0;

	if (!list)
		return -1;
	for (tok = strtok_r(list, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		tok += strspn(tok, " \t");
		for (size_t n = strlen(tok); n && (tok[n - 1] == ' ' ||
						   tok[n - 1] == '\t'); n--)
			tok[n - 1] = '\0';
		if (*tok)
			rc = add_pem_file(&p->app.jwt, tok, NULL, NULL);
	}
	free(list);
	for (size_t i = 0; i < c->npubkeys && !rc; i++)
		rc = add_pem_file(&p->app.jwt, c->pubkeys[i].pem_file,
				  c->pubkeys[i].kid, c->pubkeys[i].alg);
	return rc;
}

/* auth.jwks_file into the configured keys; 0 or -1 (logged). */
static int add_jwks_file(struct proc *p)
{
	const char *path = p->cfg.jwks_file;
	struct gw_error e = {0, ""};
	struct jwks_report rep;
	size_t len = 0;
	char *doc;
	int rc;

	if (jwks_read_file(path, JWKS_MAX_BYTES, &doc, &len, &e)) {
		log_error("auth.jwks_file: %s", e.msg);
		return -1;
	}
	rc = jwks_parse(doc, len, &p->app.jwt.keys, &p->app.jwt.nkeys, &rep,
			&e);
	free(doc);
	if (rc || rep.used == 0) {
		log_error("auth.jwks_file %s: %s", path,
			  rc ? e.msg : rep.ignored ? rep.why : "no keys");
		return -1;
	}
	if (rep.ignored)
		log_info("auth.jwks_file %s: %zu keys (%zu skipped; first: %s)",
			 path, rep.used, rep.ignored, rep.why);
	else
		log_info("auth.jwks_file %s: %zu keys", path, rep.used);
	return 0;
}

/* Checks and sets up authentication; returns 0 or exits with a message. */
static int setup_auth(struct proc *p)
{
	struct config *c = &p->cfg;
	struct gw_error e = {0, ""};
	bool public_keys;

	jwt_verifier_init(&p->app.jwt);
	p->app.jwt.leeway_s = c->leeway_s;
	if (strcmp(c->auth_mode, "none") == 0) {
		p->app.dev_open = true;
		log_warn("AUTH IS OFF (auth.mode=none): anyone can read and write "
			 "every collection. Development only.");
	} else {
		if (add_pem_keys(p) || (c->jwks_file[0] && add_jwks_file(p)))
			return -1;
		if (c->jwks_url[0] && jwks_url_check(c->jwks_url, &e)) {
			log_error("auth.jwks_url: %s", e.msg);
			return -1;
		}
		public_keys = p->app.jwt.nkeys > 0 || c->jwks_url[0];
		/* the secret is optional once public keys are configured; a
		 * secret that is set must still be long enough */
		if ((c->jwt_secret[0] || !public_keys) &&
		    jwt_verifier_add_hs256(&p->app.jwt, (const unsigned char *)c->jwt_secret,
					   strlen(c->jwt_secret), &e)) {
			log_error("auth.mode=jwt needs SYNCGATE_JWT_SECRET of at least %d "
				  "bytes (HS256, RFC 7518 3.2) or public keys "
				  "(auth.jwt_public_key, auth.jwt_public_keys, "
				  "auth.jwks_file, auth.jwks_url): %s",
				  JWT_HS256_MIN_SECRET, e.msg);
			return -1;
		}
		if (public_keys && (!c->issuer[0] || !c->audience[0]))
			log_warn("auth: public keys without auth.issuer and "
				 "auth.audience: tokens the same keys sign for other "
				 "applications are accepted too");
		if (c->issuer[0] && !(p->app.jwt.issuer = strdup(c->issuer)))
			return -1;
		if (c->audience[0] && !(p->app.jwt.audience = strdup(c->audience)))
			return -1;
		if (!c->norigins)
			log_warn("ws.allowed_origins is empty: browsers on any site may "
				 "open WebSockets here with their users' tokens");
	}
	p->app.idcfg.open = p->app.dev_open;
	p->app.idcfg.jwt = &p->app.jwt;
	p->app.idcfg.defaults = &c->default_perms;
	p->app.idcfg.keys = &c->api_keys;
	return 0;
}

/* The dev option: refused off loopback, loud when on. 0 or -1. */
static int check_dev(const struct config *c)
{
	struct gw_error e = {0, ""};

	if (config_check_dev(c, &e)) {
		log_error("%s", e.msg);
		return -1;
	}
	if (c->dev)
		log_warn("dev mode: POST /v1/dev/token mints tokens for anyone who "
			 "can reach this port (%s:%d). Development only.", c->bind,
			 c->http_port);
	return 0;
}

static void store_reconnected(void *ctx)
{
	struct proc *p = ctx;

	if (p->app.hub)
		hub_on_cmd_reconnected(p->app.hub);
}

static int start(struct proc *p)
{
	struct config *c = &p->cfg;
	struct store_opts so;
	struct live_opts lo;
	struct rconn_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.host = c->redis_host;
	ro.port = c->redis_port;
	ro.password = c->redis_password;
	ro.user = c->redis_user;
	ro.db = c->redis_db;
	ro.timeout_ms = c->redis_timeout_ms;
	ro.connect_timeout_ms = c->redis_connect_timeout_ms;
	ro.backoff_min_ms = 100;
	ro.backoff_max_ms = 5000;
	ro.max_pending = 100000;

	memset(&so, 0, sizeof(so));
	so.conn = ro;
	so.conn.name = "command";
	so.reconnected = store_reconnected;
	so.lossless_restarts = c->lossless_restarts;
	so.page_bytes = (size_t)c->page_bytes;
	so.cluster_seeds = c->redis_cluster_seeds;
	so.ctx = p;
	p->app.store = store_new(p->app.loop, &so);
	memset(&lo, 0, sizeof(lo));
	lo.conn = ro;
	lo.conn.name = "subscriber";
	lo.heartbeat_ms = c->heartbeat_ms;
	lo.node = p->node;
	p->app.live = p->app.store ? live_new(p->app.loop, &lo, p->app.store) : NULL;
	p->app.seen = seen_new(0);
	if (p->app.live && p->app.seen) {
		struct hub_backend be = live_backend(p->app.live);

		p->app.hub = hub_new(&be, p->app.seen);
	}
	if (!p->app.store || !p->app.live || !p->app.hub)
		return -1;
	live_set_hub(p->app.live, p->app.hub);
	{
		struct resolver_opts rs;

		memset(&rs, 0, sizeof(rs));
		rs.max_inflight = (size_t)c->resolver_max_inflight;
		rs.body_max = (size_t)c->resolver_answer_max;
		rs.user_agent = "syncgate/" SYNCGATE_VERSION;
		p->app.resolver = resolver_new(p->app.loop, &rs);
		p->app.sync = sync_new(&p->app);
		if (!p->app.resolver || !p->app.sync)
			return -1;
	}
	if (!p->app.dev_open && c->jwks_url[0]) {
		struct jwks_fetch_opts jo;

		memset(&jo, 0, sizeof(jo));
		jo.url = c->jwks_url;
		jo.refresh_s = c->jwks_refresh_s;
		jo.min_refresh_s = c->jwks_min_refresh_s;
		jo.timeout_ms = c->jwks_timeout_ms;
		jo.user_agent = "syncgate/" SYNCGATE_VERSION;
		p->app.jwks = jwks_fetch_new(p->app.loop, &p->app.jwt, &jo);
		if (!p->app.jwks)
			return -1;
	}
	p->rest = rest_start(&p->app);
	p->ws = p->rest ? ws_start(&p->app) : NULL;
	return p->rest && ws_listening(p->ws) ? 0 : -1;
}

/* Hash maps keyed by client-chosen names get a secret seed. */
static void seed_maps(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	map_seed(seed);
}

int main(int argc, char **argv)
{
	static struct proc p;
	enum config_action action;
	const char *token_sub = NULL;
	struct gw_error e = {0, ""};
	uv_loop_t loop;
	int rc = 1, lvl;

	if (health_probe_wanted(argc, argv))
		return health_probe_main(argc, argv, environ);
	signal(SIGPIPE, SIG_IGN);
	seed_maps();
	if (config_load(&p.cfg, argc, argv, environ, &action, &token_sub, &e)) {
		fprintf(stderr, "syncgate: %s\n", e.msg);
		config_release(&p.cfg);
		return 2;
	}
	if (action == CONFIG_HELP) {
		config_print_help(stdout);
		config_release(&p.cfg);
		return 0;
	}
	if (action == CONFIG_VERSION) {
		config_print_version(stdout);
		config_release(&p.cfg);
		return 0;
	}
	if (action == CONFIG_PRINT) {
		config_print(&p.cfg, stdout);
		config_release(&p.cfg);
		return 0;
	}
	if (action == CONFIG_MAKE_TOKEN) {
		rc = make_token(&p.cfg, token_sub);
		config_release(&p.cfg);
		return rc;
	}
	if (action == CONFIG_HEALTH) { /* (caught above, before the load) */
		config_release(&p.cfg);
		return health_probe_main(argc, argv, environ);
	}
	if (p.cfg.node_id[0])
		strx_copy(p.node, sizeof(p.node), p.cfg.node_id);
	else if (gethostname(p.node, sizeof(p.node) - 1) != 0)
		snprintf(p.node, sizeof(p.node), "syncgate");
	lvl = log_level_parse(p.cfg.log_level);
	log_init(p.node, lvl < 0 ? LOG_INFO : (enum log_level)lvl);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (keys_set_prefix(p.cfg.key_prefix)) {
		log_error("redis.key_prefix \"%s\" is not allowed", p.cfg.key_prefix);
		goto out_cfg;
	}
	p.app.cfg = &p.cfg;
	p.app.node = p.node;
	if (setup_auth(&p) || check_dev(&p.cfg))
		goto out_auth;

	uv_loop_init(&loop);
	p.app.loop = &loop;
	uv_signal_init(&loop, &p.sigterm);
	uv_signal_init(&loop, &p.sigint);
	uv_timer_init(&loop, &p.tick);
	uv_timer_init(&loop, &p.drain);
	p.sigterm.data = p.sigint.data = p.tick.data = p.drain.data = &p;
	uv_signal_start(&p.sigterm, on_signal, SIGTERM);
	uv_signal_start(&p.sigint, on_signal, SIGINT);
	uv_timer_start(&p.tick, tick_cb, 1000, 1000);

	log_info("syncgate starting (redis %s:%d, auth %s)", p.cfg.redis_host,
		 p.cfg.redis_port, p.cfg.auth_mode);
	if (start(&p)) {
		log_error("startup failed");
		finish(&p);
	} else {
		log_info("ready to serve: http://%s:%d  ws://%s:%d/v1/ws", p.cfg.bind,
			 p.cfg.http_port, p.cfg.bind, p.cfg.ws_port);
		rc = 0;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	ws_free(p.ws);
	sync_free(p.app.sync);
	hub_free(p.app.hub);
	seen_free(p.app.seen);
	/* anything still open (e.g. after a failed start) closes here */
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("event loop closed with handles still open");
out_auth:
	jwt_verifier_release(&p.app.jwt);
out_cfg:
	config_release(&p.cfg);
	return rc;
}
