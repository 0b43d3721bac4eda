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
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
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
