//! Language and region for each backend: DuckDuckGo's `kl` region codes and
//! SearXNG's language tags, from the `language` and `region` arguments.

/// DuckDuckGo region codes (`kl`) of the languages it has a home region
/// for: a language given without a region picks that region.
const DDG_LANGUAGE_REGIONS: &[(&str, &str)] = &[
    ("cs", "cz-cs"),
    ("da", "dk-da"),
    ("de", "de-de"),
    ("el", "gr-el"),
    ("en", "us-en"),
    ("es", "es-es"),
    ("fi", "fi-fi"),
    ("fr", "fr-fr"),
    ("hu", "hu-hu"),
    ("it", "it-it"),
    ("ja", "jp-jp"),
    ("ko", "kr-kr"),
    ("nb", "no-no"),
    ("nl", "nl-nl"),
    ("no", "no-no"),
    ("pl", "pl-pl"),
    ("pt", "pt-pt"),
    ("ru", "ru-ru"),
    ("sv", "se-sv"),
    ("tr", "tr-tr"),
    ("uk", "ua-uk"),
    ("zh", "cn-zh"),
];

/// The main language of a region, for SearXNG (which has no region
/// parameter, only a `language` locale such as `de-CH`).
const REGION_LANGUAGES: &[(&str, &str)] = &[
    ("ar", "es"),
    ("at", "de"),
    ("au", "en"),
    ("be", "fr"),
    ("br", "pt"),
    ("ca", "en"),
    ("ch", "de"),
    ("cn", "zh"),
    ("cz", "cs"),
    ("de", "de"),
    ("dk", "da"),
    ("es", "es"),
    ("fi", "fi"),
    ("fr", "fr"),
    ("gb", "en"),
    ("gr", "el"),
    ("ie", "en"),
    ("in", "en"),
    ("it", "it"),
    ("jp", "ja"),
    ("kr", "ko"),
    ("mx", "es"),
    ("nl", "nl"),
    ("no", "nb"),
    ("nz", "en"),
    ("pl", "pl"),
    ("pt", "pt"),
    ("ru", "ru"),
    ("se", "sv"),
    ("tr", "tr"),
    ("tw", "zh"),
    ("ua", "uk"),
    ("uk", "en"),
    ("us", "en"),
];

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// DuckDuckGo's `kl` (region-language, e.g. `us-en`, `de-de`) for the
/// `region` and `language` arguments: a region with a dash is taken as it
/// is; a region and a language are joined; a region alone gets `-en`; a
/// language alone picks its home region (`de` → `de-de`), and a language
/// DuckDuckGo has no region for is not sent (`None`).
pub fn ddg_kl(region: Option<&str>, language: Option<&str>) -> Option<String> {
    let kl = match (region, language) {
        (Some(r), _) if r.contains('-') => r.to_owned(),
        (Some(r), Some(l)) => format!("{r}-{l}"),
        (Some(r), None) => format!("{r}-en"),
        (None, Some(l)) => lookup(DDG_LANGUAGE_REGIONS, l)?.to_owned(),
        (None, None) => return None,
    };
    Some(kl.to_ascii_lowercase())
}

/// SearXNG's `language` (a locale such as `de-CH`) for the `language` and
/// `region` arguments: a language and a region are joined; a language alone
/// is sent as it is; a region alone is sent with its main language
/// (`ch` → `de-CH`, DuckDuckGo's `us-en` → `en-US`), and a region without a
/// known main language is not sent (`None`).
pub fn searxng_language(language: Option<&str>, region: Option<&str>) -> Option<String> {
    // DuckDuckGo-style `us-en`: the country is the first part.
    let country = |r: &str| r.split('-').next().unwrap_or(r).to_ascii_uppercase();
    match (language, region) {
        (Some(l), Some(r)) => Some(format!("{l}-{}", country(r))),
        (Some(l), None) => Some(l.to_owned()),
        (None, Some(r)) => {
            let lang = match r.split_once('-') {
                Some((_, l)) if !l.is_empty() => l.to_ascii_lowercase(),
                _ => lookup(REGION_LANGUAGES, &country(r))?.to_owned(),
            };
            Some(format!("{lang}-{}", country(r)))
        }
        (None, None) => None,
    }
}
