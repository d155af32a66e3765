//! argon2's working memory on transparent huge pages.
//!
//! A hash reads 19 MiB at pseudo-random places. In 4 KiB pages that is
//! nearly 5,000 address translations, refilled by page walks whenever the
//! core ran another process in between (a PostgreSQL backend, the mail
//! server), which under load happens many times a hash. In 2 MiB pages it
//! is ten. Most kernels only give huge pages to memory that asks for them
//! (`madvise` mode), so the pool's memory asks. Measured on the 2-core VM:
//! argon2 alone 165 → 170 hashes/s, sign-ups on PostgreSQL 137.5 → 140.5/s
//! (two alternating pairs each).

use std::mem::MaybeUninit;

use argon2::Block;

/// The size of a transparent huge page on x86-64 (and a multiple of every
/// smaller base page size).
const HUGE_PAGE: usize = 2 << 20;

/// `count` zeroed blocks, backed by huge pages where the kernel has them.
pub fn blocks(count: usize) -> Vec<Block> {
    let mut memory: Vec<Block> = Vec::with_capacity(count);
    // Before the first write: a page is sized when it is first touched.
    advise_huge_pages(memory.spare_capacity_mut());
    memory.resize(count, Block::default());
    memory
}

/// Marks the whole 2 MiB pages inside `memory` as wanting huge pages. Only
/// advice: refused or unsupported, the memory works the same.
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "madvise has no safe wrapper for memory the program already owns"
)]
fn advise_huge_pages<T>(memory: &mut [MaybeUninit<T>]) {
    let len = size_of_val(memory);
    let base = memory.as_mut_ptr().cast::<u8>();
    let skip = base.addr().next_multiple_of(HUGE_PAGE) - base.addr();
    let whole = len.saturating_sub(skip) / HUGE_PAGE * HUGE_PAGE;
    if whole == 0 {
        return;
    }
    // SAFETY: the range lies inside `memory`, which this function borrows
    // mutably, and starts page-aligned; MADV_HUGEPAGE changes how pages
    // are backed, never their contents or whether they may be used.
    let _ = unsafe {
        libc::madvise(
            base.wrapping_add(skip).cast::<libc::c_void>(),
            whole,
            libc::MADV_HUGEPAGE,
        )
    };
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages<T>(_memory: &mut [MaybeUninit<T>]) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `VmFlags` of the mapping that holds `address`, from smaps.
    #[cfg(target_os = "linux")]
    fn flags_at(address: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((start, end)) = range.split_once('-')
                && let (Ok(start), Ok(end)) = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                )
            {
                inside = (start..end).contains(&address);
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.to_owned();
            }
        }
        panic!("no mapping holds {address:#x}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_working_memory_asks_for_huge_pages() {
        let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        if !thp.contains("[madvise]") && !thp.contains("[always]") {
            return; // a kernel without transparent huge pages: nothing to ask
        }
        let memory = blocks(19_456);
        assert_eq!(memory.len(), 19_456);
        assert!(
            memory
                .iter()
                .all(|block| block.as_ref().iter().all(|&word| word == 0))
        );
        let middle = memory[memory.len() / 2].as_ref().as_ptr().addr();
        // `hg`: advised to use huge pages (MADV_HUGEPAGE).
        let flags = flags_at(middle);
        assert!(flags.split_whitespace().any(|flag| flag == "hg"), "{flags}");
    }
}
