//! `Route`: one HTTP operation as data: method, path, access policy, handler and documentation.
//!
//! Each routes module exports `routes() -> Vec<Route>`; [`crate::http::routes`] gathers them,
//! [`crate::http::configure`] registers them (with their policies attached to the actix
//! resource), and [`crate::http::openapi`] describes them. A route is declared once, so the
//! server, the isolation matrix and the API description cannot disagree.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, web};
use utoipa::openapi::RefOr;
use utoipa::openapi::path::Parameter;
use utoipa::openapi::schema::Schema;
use utoipa::{IntoParams, ToSchema};

use crate::http::access::Access;
use crate::http::error::ErrorCode;

/// Named schemas an operation refers to, collected into the document's components.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// Describes a type: registers its named schemas and returns a reference to it.
pub type SchemaFn = fn(&mut Schemas) -> RefOr<Schema>;

/// The query parameters of a type.
pub type ParamsFn = fn() -> Vec<Parameter>;

/// `T`'s schema, as a reference into the components (with everything it refers to).
pub fn schema_of<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

fn query_params<Q: IntoParams>() -> Vec<Parameter> {
    Q::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
}

/// What a successful call answers.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// 200 `{"data": T}`.
    Data(SchemaFn),
    /// 200 `{"data": [T]}` (a short, unpaged list).
    DataList(SchemaFn),
    /// 201 `{"data": T}`.
    Created(SchemaFn),
    /// 202 `{"data": T}` (work started), or 200 with the same body once it ended (`?wait`).
    Accepted(SchemaFn),
    /// 200 `{"data": [T], "page", "pageSize", "total"}`.
    Page(SchemaFn),
    /// 200 with a body that is not in the envelope (health checks, the API description).
    Bare(SchemaFn),
    /// 200 with a static file of this media type.
    File(&'static str),
    /// 101: the connection becomes a websocket.
    Upgrade,
    /// 200 `text/event-stream`: Server-Sent Events.
    EventStream,
}

/// The documentation of one operation.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Unique, camelCase (`listRoles`).
    pub operation_id: &'static str,
    /// The group in the reference (`Roles`).
    pub tag: &'static str,
    /// One line.
    pub summary: &'static str,
    /// More, in Markdown.
    pub description: Option<&'static str>,
    /// Query parameters.
    pub query: Option<ParamsFn>,
    /// The JSON body, if the route takes one.
    pub body: Option<SchemaFn>,
    /// The success answer.
    pub reply: Option<Reply>,
    /// Codes this operation answers beyond those implied by its access, body and query
    /// (`CONFLICT`, `LAST_ADMIN`, a domain `VALIDATION_ERROR`, …).
    pub errors: Vec<ErrorCode>,
}

impl Doc {
    fn new(operation_id: &'static str, tag: &'static str, summary: &'static str) -> Self {
        Doc {
            operation_id,
            tag,
            summary,
            description: None,
            query: None,
            body: None,
            reply: None,
            errors: Vec::new(),
        }
    }
}

/// Builds the actix route (per worker: actix routes are not `Send`).
type Build = Box<dyn Fn() -> actix_web::Route>;

/// One operation. See the module documentation.
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path pattern (`/api/v1/tenants/{tenantID}/roles/{roleID}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Its documentation; every route has one (a test checks).
    pub doc: Option<Doc>,
    build: Build,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl Route {
    /// A route for `method path`, served by `handler`, callable as `access` says.
    pub fn new<F, Args>(method: Method, path: &'static str, access: Access, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route_method = method.clone();
        Route {
            method,
            path,
            access,
            doc: None,
            build: Box::new(move || web::method(route_method.clone()).to(handler.clone())),
        }
    }

    /// `GET path`.
    pub fn get<F, Args>(path: &'static str, access: Access, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::new(Method::GET, path, access, handler)
    }

    /// `POST path`.
    pub fn post<F, Args>(path: &'static str, access: Access, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::new(Method::POST, path, access, handler)
    }

    /// `PATCH path`.
    pub fn patch<F, Args>(path: &'static str, access: Access, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::new(Method::PATCH, path, access, handler)
    }

    /// `DELETE path`.
    pub fn delete<F, Args>(path: &'static str, access: Access, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Self::new(Method::DELETE, path, access, handler)
    }

    /// The actix route.
    pub fn build(&self) -> actix_web::Route {
        (self.build)()
    }

    /// Starts the documentation: operation id, tag and summary.
    pub fn doc(
        mut self,
        operation_id: &'static str,
        tag: &'static str,
        summary: &'static str,
    ) -> Self {
        self.doc = Some(Doc::new(operation_id, tag, summary));
        self
    }

    /// The documentation so far; an empty one if `.doc(…)` was not called first (a test
    /// refuses routes whose operation id, tag or summary is empty).
    fn doc_mut(&mut self) -> &mut Doc {
        self.doc.get_or_insert_with(|| Doc::new("", "", ""))
    }

    /// A longer description (Markdown).
    pub fn describe(mut self, text: &'static str) -> Self {
        self.doc_mut().description = Some(text);
        self
    }

    /// The query parameters are `Q`'s fields.
    pub fn query<Q: IntoParams>(mut self) -> Self {
        self.doc_mut().query = Some(query_params::<Q>);
        self
    }

    /// The JSON body is a `B`.
    pub fn body<B: ToSchema>(mut self) -> Self {
        self.doc_mut().body = Some(schema_of::<B>);
        self
    }

    /// Answers 200 `{"data": T}`.
    pub fn ok<T: ToSchema>(mut self) -> Self {
        self.doc_mut().reply = Some(Reply::Data(schema_of::<T>));
        self
    }

    /// Answers 200 `{"data": [T]}`.
    pub fn ok_list<T: ToSchema>(mut self) -> Self {
        self.doc_mut().reply = Some(Reply::DataList(schema_of::<T>));
        self
    }

    /// Answers 201 `{"data": T}`.
    pub fn created<T: ToSchema>(mut self) -> Self {
        self.doc_mut().reply = Some(Reply::Created(schema_of::<T>));
        self
    }

    /// Answers 202 `{"data": T}`, or 200 with it after a wait.
    pub fn accepted<T: ToSchema>(mut self) -> Self {
        self.doc_mut().reply = Some(Reply::Accepted(schema_of::<T>));
        self
    }

    /// Answers a page of `T`.
    pub fn page<T: ToSchema>(mut self) -> Self {
        self.doc_mut().reply = Some(Reply::Page(schema_of::<T>));
        self
    }

    /// Answers 200 with a bare `T` (no envelope).
    pub fn bare<T: ToSchema>(mut self) -> Self {
        self.doc_mut().reply = Some(Reply::Bare(schema_of::<T>));
        self
    }

    /// Answers 200 with a static file of `media_type`.
    pub fn file(mut self, media_type: &'static str) -> Self {
        self.doc_mut().reply = Some(Reply::File(media_type));
        self
    }

    /// Switches to the websocket protocol (101).
    pub fn upgrade(mut self) -> Self {
        self.doc_mut().reply = Some(Reply::Upgrade);
        self
    }

    /// Answers a stream of Server-Sent Events.
    pub fn event_stream(mut self) -> Self {
        self.doc_mut().reply = Some(Reply::EventStream);
        self
    }

    /// Adds codes the operation may answer (see [`Doc::errors`]).
    pub fn errors(mut self, codes: &[ErrorCode]) -> Self {
        self.doc_mut().errors.extend_from_slice(codes);
        self
    }
}
