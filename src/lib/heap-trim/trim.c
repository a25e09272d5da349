/*
 * burrow-heap-trim.node: trim(), which asks glibc to hand the free pages of
 * its heap back to the kernel (malloc_trim(0)) on a thread-pool thread and
 * resolves to whether anything was released. Memory that native code frees
 * (SQLite's connections and caches when agents are evicted) stays in glibc's
 * free lists between live chunks, so the process keeps it in its RSS until
 * something calls this; Node itself never does. A trim of a 250 MB heap takes
 * 2-20 ms here, which is why it does not run on the event loop.
 */
#include <malloc.h>
#include <stdlib.h>
#include <node_api.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int released;
} job_t;

static void run(napi_env env, void *data) {
  (void)env;
  ((job_t *)data)->released = malloc_trim(0);
}

static void done(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value result;
  napi_get_boolean(env, status == napi_ok && job->released != 0, &result);
  napi_resolve_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value promise, name;
  job_t *job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "burrow-heap-trim", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, run, done, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
