//! The raw side of the ABI inside the sandbox: memory hand-over and host imports.
//!
//! This is the only `unsafe` in the SDK; rule authors never see it.

use std::sync::Once;

use muster_wire::abi::OutputSlice;

#[link(wasm_import_module = "muster")]
unsafe extern "C" {
    #[link_name = "regex_compile"]
    fn host_regex_compile(pattern: *const u8, pattern_len: usize, err: *mut u8, err_cap: usize) -> i32;
    #[link_name = "regex_is_match"]
    fn host_regex_is_match(handle: i32, text: *const u8, text_len: usize) -> i32;
    #[link_name = "abort"]
    fn host_abort(message: *const u8, message_len: usize) -> !;
}

/// Reserves `len` bytes for the host to write a request into. The buffer is never freed: every
/// evaluation runs in a fresh instance.
pub fn alloc(len: i32) -> i32 {
    let buffer = Vec::<u8>::with_capacity(len.max(0) as usize);
    buffer.leak().as_mut_ptr() as i32
}

/// Runs an entry point on the request at `ptr..ptr+len` and hands its response to the host.
pub fn call(ptr: i32, len: i32, entry: impl FnOnce(&[u8]) -> Vec<u8>) -> i64 {
    static PANIC_HOOK: Once = Once::new();
    PANIC_HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            // SAFETY: the pointer and length describe `message`, alive for the call.
            unsafe { host_abort(message.as_ptr(), message.len()) }
        }))
    });
    // SAFETY: the host wrote `len` bytes at `ptr`, inside the buffer `alloc` returned.
    let request = unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len.max(0) as usize) };
    let response = entry(request).leak();
    OutputSlice { ptr: response.as_ptr() as u32, len: response.len() as u32 }.pack()
}

/// Compiles `pattern` on the host, returning its handle or the host's error message.
pub fn regex_compile(pattern: &str) -> Result<i32, String> {
    let mut error = [0u8; 512];
    // SAFETY: both pointers and lengths describe live buffers owned by this frame.
    let handle = unsafe { host_regex_compile(pattern.as_ptr(), pattern.len(), error.as_mut_ptr(), error.len()) };
    if handle >= 0 {
        Ok(handle)
    } else {
        let written = ((-(handle as i64)) - 1).clamp(0, error.len() as i64) as usize;
        Err(String::from_utf8_lossy(&error[..written]).into_owned())
    }
}

/// Whether the host-compiled expression `handle` matches `text`.
pub fn regex_is_match(handle: i32, text: &str) -> bool {
    // SAFETY: the pointer and length describe `text`.
    unsafe { host_regex_is_match(handle, text.as_ptr(), text.len()) == 1 }
}

/// The allocator of every rule module: a bump allocator that never frees.
///
/// An evaluation lives in a fresh instance that is thrown away afterwards, so freeing is
/// wasted work; and the general-purpose allocator grows linear memory on its first allocation,
/// which costs the host a page-protection change per evaluation. This one allocates from the
/// memory the module starts with (above `__heap_base`) and grows it only when that runs out.
pub struct BumpAllocator;

static mut NEXT: usize = 0;

unsafe extern "C" {
    static __heap_base: u8;
}

const PAGE: usize = 65536;

// SAFETY: wasm32-unknown-unknown modules are single-threaded, so the unsynchronised `NEXT` is
// only ever touched by one thread; every returned block lies inside linear memory and is
// never handed out twice.
unsafe impl std::alloc::GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: single-threaded (see above); `__heap_base` is defined by the linker.
        unsafe {
            if NEXT == 0 {
                NEXT = &raw const __heap_base as usize;
            }
            let start = (NEXT + layout.align() - 1) & !(layout.align() - 1);
            let Some(end) = start.checked_add(layout.size()) else { return std::ptr::null_mut() };
            let available = core::arch::wasm32::memory_size(0) * PAGE;
            if end > available {
                let pages = (end - available).div_ceil(PAGE);
                if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                    return std::ptr::null_mut();
                }
            }
            NEXT = end;
            start as *mut u8
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: std::alloc::Layout) {}

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: single-threaded (see above).
        unsafe {
            // Growing the most recent block in place is the common case (a Vec being pushed).
            if ptr as usize + layout.size() == NEXT && new_size >= layout.size() {
                let end = ptr as usize + new_size;
                let available = core::arch::wasm32::memory_size(0) * PAGE;
                if end > available && core::arch::wasm32::memory_grow(0, (end - available).div_ceil(PAGE)) == usize::MAX
                {
                    return std::ptr::null_mut();
                }
                NEXT = end;
                return ptr;
            }
            let new_layout = std::alloc::Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
            new
        }
    }
}
