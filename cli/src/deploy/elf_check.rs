//! Will this file run on Amazon Linux 2023? Every ELF file of a function package must be an
//! x86_64 object whose versioned glibc symbols need at most glibc 2.34 (what `provided.al2023`
//! ships). Decided from the file's bytes alone: the `.gnu.version_r` entries name the newest
//! `GLIBC_x.y[.z]` each dependency needs.

use std::fmt;

use object::elf;
use object::read::elf::{ElfFile64, FileHeader};
use object::Endianness;

/// The glibc of Amazon Linux 2023.
pub const MAX_GLIBC: GlibcVersion = GlibcVersion([2, 34, 0]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion([u32; 3]);

impl GlibcVersion {
    /// `GLIBC_2.34` or `GLIBC_2.3.4`; `None` for other names (`GLIBC_PRIVATE`, `GCC_3.0`, ...).
    fn parse(name: &[u8]) -> Option<GlibcVersion> {
        let numbers = std::str::from_utf8(name.strip_prefix(b"GLIBC_")?).ok()?;
        let mut parts = [0u32; 3];
        let mut count = 0;
        for part in numbers.split('.') {
            *parts.get_mut(count)? = part.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(GlibcVersion(parts))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.0;
        write!(f, "{major}.{minor}")?;
        if patch > 0 {
            write!(f, ".{patch}")?;
        }
        Ok(())
    }
}

/// Why a file cannot run on the target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfProblem {
    #[error("needs glibc {needs}, newer than the {MAX_GLIBC} of Amazon Linux 2023")]
    GlibcTooNew { needs: GlibcVersion },
    #[error("is not an x86_64 ELF file (machine {0})")]
    NotX86_64(String),
    #[error("is a 32-bit ELF file; the function runs x86_64 code")]
    Not64Bit,
    #[error("is a malformed ELF file: {0}")]
    Malformed(String),
}

/// The problem with one file's bytes, if it is an ELF file that would not run; non-ELF files
/// pass.
pub fn check(bytes: &[u8]) -> Option<ElfProblem> {
    if !bytes.starts_with(&elf::ELFMAG) {
        return None;
    }
    // e_ident[EI_CLASS]: 2 is ELFCLASS64.
    if bytes.get(4) != Some(&2) {
        return Some(ElfProblem::Not64Bit);
    }
    let malformed = |e: object::Error| ElfProblem::Malformed(e.to_string());
    let file = match ElfFile64::<Endianness>::parse(bytes) {
        Ok(file) => file,
        Err(e) => return Some(malformed(e)),
    };
    let endian = file.endian();
    let machine = file.elf_header().e_machine(endian);
    if machine != elf::EM_X86_64 {
        return Some(ElfProblem::NotX86_64(format!("{machine:?}")));
    }
    match newest_glibc(&file, bytes) {
        Ok(Some(needs)) if needs > MAX_GLIBC => Some(ElfProblem::GlibcTooNew { needs }),
        Ok(_) => None,
        Err(e) => Some(malformed(e)),
    }
}

fn newest_glibc(
    file: &ElfFile64<'_, Endianness>,
    bytes: &[u8],
) -> object::Result<Option<GlibcVersion>> {
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Some((mut needs, strings_index)) = sections.gnu_verneed(endian, bytes)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, bytes, strings_index)?;
    let mut newest = None;
    while let Some((_, mut versions)) = needs.next()? {
        while let Some(version) = versions.next()? {
            if let Some(glibc) = GlibcVersion::parse(version.name(endian, strings)?) {
                newest = newest.max(Some(glibc));
            }
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_version_names_parse_and_order() {
        assert_eq!(
            GlibcVersion::parse(b"GLIBC_2.34"),
            Some(GlibcVersion([2, 34, 0]))
        );
        assert_eq!(
            GlibcVersion::parse(b"GLIBC_2.3.4"),
            Some(GlibcVersion([2, 3, 4]))
        );
        for other in [
            &b"GLIBC_PRIVATE"[..],
            b"GCC_3.0",
            b"GLIBC_2",
            b"GLIBC_2.x",
            b"GLIBC_1.2.3.4",
        ] {
            assert_eq!(GlibcVersion::parse(other), None, "{other:?}");
        }
        assert!(GlibcVersion([2, 35, 0]) > MAX_GLIBC);
        assert!(GlibcVersion([2, 3, 4]) < MAX_GLIBC);
        assert_eq!(GlibcVersion([2, 3, 4]).to_string(), "2.3.4");
    }

    #[test]
    fn files_that_are_not_elf_pass_and_broken_ones_are_named() {
        assert_eq!(check(b"#!/bin/sh\n"), None);
        assert_eq!(check(b""), None);
        let mut broken = elf::ELFMAG.to_vec();
        broken.extend([2, 1, 1, 0]);
        assert!(matches!(check(&broken), Some(ElfProblem::Malformed(_))));
        let mut thirty_two = elf::ELFMAG.to_vec();
        thirty_two.push(1);
        assert_eq!(check(&thirty_two), Some(ElfProblem::Not64Bit));
    }

    #[test]
    fn this_test_binary_is_checked_from_its_own_bytes() {
        // Built on this machine: whatever it needs, the check reads a version from it.
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let file = ElfFile64::<Endianness>::parse(&*bytes).unwrap();
        let newest = newest_glibc(&file, &bytes).unwrap();
        assert!(
            newest.is_some_and(|v| v >= GlibcVersion([2, 2, 5])),
            "{newest:?}"
        );
    }
}
