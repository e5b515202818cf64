//! Mainland China's administrative regions — province (省), city (市), district (区县) — for
//! checking a shipping address: the district must be one of the city's, the city one of the
//! province's. The table is `data/regions.json` (see `data/README.md` for its origin and
//! licence), compiled in; the pages' picker is fed the same bytes ([`JSON`]).

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::DomainError;

/// The table as shipped: `{province: {city: [district]}}`, in the source's order.
pub const JSON: &str = include_str!("../data/regions.json");

type Table = HashMap<String, HashMap<String, Vec<String>>>;

static TABLE: LazyLock<Table> =
    LazyLock::new(|| serde_json::from_str(JSON).expect("data/regions.json is a region table"));

/// Which part of a region is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Province,
    City,
    District,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Province => "province",
            Part::City => "city",
            Part::District => "district",
        }
    }
}

/// Checks that `province` is a province, `city` one of its cities and `district` one of the
/// city's districts (names exactly as in the table, after trimming). The error names the
/// first part that does not fit, as `{prefix}{part}` (`address.city`).
pub fn check(prefix: &str, province: &str, city: &str, district: &str) -> Result<(), DomainError> {
    let bad = |part: Part, reason: String| {
        Err(DomainError::invalid(
            format!("{prefix}{}", part.as_str()),
            reason,
        ))
    };
    let (province, city, district) = (province.trim(), city.trim(), district.trim());
    let Some(cities) = TABLE.get(province) else {
        return bad(Part::Province, "is not a province of mainland China".into());
    };
    let Some(districts) = cities.get(city) else {
        return bad(Part::City, format!("is not a city of {province}"));
    };
    if !districts.iter().any(|d| d == district) {
        return bad(
            Part::District,
            format!("is not a district of {province}{city}"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_loads_whole() {
        assert_eq!(TABLE.len(), 31);
        assert_eq!(TABLE.values().map(HashMap::len).sum::<usize>(), 342);
        assert!(
            TABLE
                .values()
                .flat_map(|c| c.values())
                .all(|d| !d.is_empty())
        );
    }

    #[test]
    fn a_district_must_be_the_citys_and_the_city_the_provinces() {
        assert_eq!(check("", "贵州省", "贵阳市", "观山湖区"), Ok(()));
        assert_eq!(check("", " 北京市", "市辖区 ", "海淀区"), Ok(()));
        let field = |r: Result<(), DomainError>| match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(check("address.", "贵州", "贵阳市", "观山湖区")),
            "address.province"
        );
        // 杭州市 is Zhejiang's, not Guizhou's.
        assert_eq!(field(check("", "贵州省", "杭州市", "西湖区")), "city");
        // 西湖区 is Hangzhou's (and Nanchang's), not Guiyang's.
        assert_eq!(field(check("", "贵州省", "贵阳市", "西湖区")), "district");
        assert_eq!(check("", "浙江省", "杭州市", "西湖区"), Ok(()));
        assert_eq!(field(check("", "", "", "")), "province");
    }
}
