//! `text_enum!`: an enum stored as TEXT and sent as a snake_case string, with `as_str`,
//! `parse` and the list of values — the portable replacement for database enum types.

/// Declares a text-backed enum:
///
/// ```ignore
/// text_enum! {
///     /// What kind of organization.
///     pub enum OrgKind {
///         CountyCommittee = "county_committee",
///         Branch = "branch",
///     }
/// }
/// ```
///
/// The OpenAPI schema is written here rather than derived: utoipa does not see a
/// `#[serde(rename = …)]` whose value comes from a macro argument, and documented the Rust
/// variant names (`OnlineClass`) instead of the wire values (`online_class`).
#[macro_export]
macro_rules! text_enum {
    ($(#[doc = $doc:literal])* pub enum $name:ident { $( $(#[doc = $vdoc:literal])* $variant:ident = $text:literal ),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[doc = $vdoc])* #[serde(rename = $text)] $variant, )+
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let lines: &[&str] = &[$($doc),*];
                let description = lines
                    .iter()
                    .map(|l| l.strip_prefix(' ').unwrap_or(l))
                    .collect::<Vec<_>>()
                    .join("\n");
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description((!description.is_empty()).then_some(description))
                    .enum_values(Some([$($text),+]))
                    .build()
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The stored and transmitted text.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }

            /// Parses the stored text.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $( $text => Some($name::$variant), )+ _ => None }
            }

            /// Parses text read from the database; unknown text is an internal error.
            pub fn from_db(s: &str) -> Result<$name, $crate::error::ApiError> {
                $name::parse(s).ok_or_else(|| {
                    $crate::error::ApiError::internal(anyhow::anyhow!(
                        "unknown {} in the database: {s:?}",
                        stringify!($name)
                    ))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
