//! The service's HTTP API over the job queue: `POST /jobs` and
//! `GET /jobs/{id}`. The flagship (`main.rs`) serves it with
//! `graceful::http::serve`; `examples/service_axum.rs` serves the very same
//! routes with plain `axum::serve(..).with_graceful_shutdown(..)`, for the
//! rolling deploy of `deploy/rolling-restart`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::db::{Db, NotCommitted};

/// The largest job body: a longer one is answered `413` before it is read
/// in full, so no client can make the service hold much memory.
pub const MAX_BODY: usize = 64 * 1024;

/// `POST /jobs` and `GET /jobs/{id}` on `db`; merge the health routes into it.
pub fn routes(db: Db) -> Router {
    Router::new()
        .route("/jobs", post(submit))
        .route("/jobs/{id}", get(report))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(db)
}

/// `POST /jobs`: 202 with the id once the job is committed; never a 202
/// for a job that is not.
async fn submit(State(db): State<Db>, body: String) -> Response {
    match db.submit(body).await {
        Ok(id) => (StatusCode::ACCEPTED, format!("{id}\n")).into_response(),
        Err(NotCommitted::QueueFull) => {
            let retry = [(header::RETRY_AFTER, "1")];
            (
                StatusCode::SERVICE_UNAVAILABLE,
                retry,
                "queue full, retry later\n",
            )
                .into_response()
        }
        Err(e @ NotCommitted::DiskFull(_)) => {
            (StatusCode::INSUFFICIENT_STORAGE, format!("{e}\n")).into_response()
        }
        Err(e @ NotCommitted::Failed(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response()
        }
    }
}

/// `GET /jobs/{id}`: the job's row.
async fn report(State(db): State<Db>, Path(id): Path<i64>) -> (StatusCode, String) {
    match db.get(id).await {
        Ok(Some(job)) => (StatusCode::OK, job),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no job {id}\n")),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}
