//! Content blocks carried by tool results, prompt messages and resources.

use super::ProtocolVersion;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The contents of a resource: text or base64 binary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ResourceContents {
    /// Text contents.
    Text {
        /// The resource URI.
        uri: String,
        /// The MIME type.
        #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        /// The text.
        text: String,
        /// Metadata (`_meta`), passed on unchanged.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// Binary contents, base64-encoded.
    Blob {
        /// The resource URI.
        uri: String,
        /// The MIME type.
        #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        /// Base64 data.
        blob: String,
        /// Metadata (`_meta`), passed on unchanged.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
}

/// One block of content. `annotations` (audience, priority, lastModified)
/// are kept as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// Plain text.
    Text {
        /// The text.
        text: String,
        /// Annotations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
        /// Metadata (`_meta`), passed on unchanged.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// An image, base64-encoded.
    Image {
        /// Base64 data.
        data: String,
        /// MIME type such as `image/png`.
        #[serde(rename = "mimeType")]
        mime_type: String,
        /// Annotations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
        /// Metadata (`_meta`), passed on unchanged.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// Audio, base64-encoded (2025-03-26 and later).
    Audio {
        /// Base64 data.
        data: String,
        /// MIME type such as `audio/wav`.
        #[serde(rename = "mimeType")]
        mime_type: String,
        /// Annotations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
        /// Metadata (`_meta`), passed on unchanged.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// A link to a resource (2025-06-18 and later).
    ResourceLink {
        /// The resource URI.
        uri: String,
        /// Programmatic name.
        name: String,
        /// Display name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// Description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// MIME type.
        #[serde(rename = "mimeType", default, skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        /// Size in bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        /// Annotations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
        /// Metadata (`_meta`), passed on unchanged.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// A resource embedded in the result.
    Resource {
        /// The resource contents.
        resource: ResourceContents,
        /// Annotations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
        /// Metadata (`_meta`), passed on unchanged.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text {
            text: text.into(),
            annotations: None,
            meta: None,
        }
    }

    /// A base64 image block.
    pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Content::Image {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
            meta: None,
        }
    }

    /// A base64 audio block.
    pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Content::Audio {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
            meta: None,
        }
    }

    /// An embedded resource.
    pub fn embedded(resource: ResourceContents) -> Self {
        Content::Resource {
            resource,
            annotations: None,
            meta: None,
        }
    }

    /// A link to a resource.
    pub fn link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Content::ResourceLink {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
            meta: None,
        }
    }

    /// The JSON of this block as `version` may see it: blocks a revision does
    /// not know are turned into text that says what they were.
    pub fn to_value_for(&self, version: ProtocolVersion) -> Value {
        let downgraded = match self {
            Content::Audio { mime_type, .. } if !version.has_annotations() => Some(Content::text(
                format!("[audio content ({mime_type}) not supported by protocol {version}]"),
            )),
            Content::ResourceLink { uri, name, .. } if !version.has_structured_content() => {
                Some(Content::text(format!("Resource link: {name} <{uri}>")))
            }
            _ => None,
        };
        serde_json::to_value(downgraded.as_ref().unwrap_or(self)).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_like_the_schema() {
        assert_eq!(
            serde_json::to_value(Content::text("hi")).unwrap(),
            json!({"type":"text","text":"hi"})
        );
        let link = match Content::link("file:///a", "a") {
            Content::ResourceLink { uri, name, .. } => Content::ResourceLink {
                uri,
                name,
                title: None,
                description: None,
                mime_type: Some("text/plain".into()),
                size: None,
                annotations: None,
                meta: None,
            },
            _ => unreachable!(),
        };
        assert_eq!(
            serde_json::to_value(&link).unwrap(),
            json!({"type":"resource_link","uri":"file:///a","name":"a","mimeType":"text/plain"})
        );
        assert_eq!(
            link.to_value_for(ProtocolVersion::V2025_03_26)["type"],
            json!("text")
        );
        let emb = Content::embedded(ResourceContents::Text {
            uri: "x:y".into(),
            mime_type: None,
            text: "t".into(),
            meta: None,
        });
        assert_eq!(
            serde_json::to_value(&emb).unwrap(),
            json!({"type":"resource","resource":{"uri":"x:y","text":"t"}})
        );
    }
}
