//! `HEAD` on every `GET` route: the request is answered by the `GET` handler and the body
//! is dropped unread, so the status and headers — `Content-Length`, `ETag`, `Accept-Ranges`
//! — are exactly what `GET` would send (RFC 9110 §9.3.2). Players probe a media URL this
//! way before they play it; monitors probe `/healthz`.
//!
//! actix-web routes a `#[get]` handler for `GET` only (actix/actix-web#2702), so this
//! middleware, the innermost one, turns `HEAD` into `GET` before routing. The connection
//! still knows the request was `HEAD` and writes no body; [`Bodiless`] keeps the `GET`
//! body's size for `Content-Length` without reading the body. A handler that can skip
//! work no one will see (opening a media object) asks [`is_head`].

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest};
use bytes::Bytes;

/// Marks, in the request extensions, a request that came as `HEAD`.
#[derive(Debug, Clone, Copy)]
struct CameAsHead;

/// Whether the request came as `HEAD` (its method now reads `GET`).
pub fn is_head(req: &HttpRequest) -> bool {
    req.extensions().get::<CameAsHead>().is_some()
}

/// A body of a known size that yields nothing: what a `HEAD` answer carries.
#[derive(Debug, Clone, Copy)]
pub struct Bodiless(pub BodySize);

impl MessageBody for Bodiless {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        self.0
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}

/// The middleware: `HEAD` is served as `GET` without the body.
pub async fn as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() != Method::HEAD {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    req.head_mut().method = Method::GET;
    req.extensions_mut().insert(CameAsHead);
    let res = next.call(req).await?;
    Ok(res.map_body(|_, body| BoxBody::new(Bodiless(body.size()))))
}
