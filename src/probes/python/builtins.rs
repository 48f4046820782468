//! Names every module can use without binding them: Python 3.11's builtins (`dir(builtins)` of
//! CPython 3.11, as on Debian 12, plus what `site` adds: `exit`, `quit`, `help`, `copyright`,
//! `credits`, `license`) and the names the import system gives each module.

/// Python 3.11 builtins, sorted.
#[rustfmt::skip]
pub(crate) const BUILTINS: &[&str] = &[
    "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BaseExceptionGroup",
    "BlockingIOError", "BrokenPipeError", "BufferError", "BytesWarning", "ChildProcessError",
    "ConnectionAbortedError", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
    "DeprecationWarning", "EOFError", "Ellipsis", "EncodingWarning", "EnvironmentError",
    "Exception", "ExceptionGroup", "False", "FileExistsError", "FileNotFoundError",
    "FloatingPointError", "FutureWarning", "GeneratorExit", "IOError", "ImportError",
    "ImportWarning", "IndentationError", "IndexError", "InterruptedError", "IsADirectoryError",
    "KeyError", "KeyboardInterrupt", "LookupError", "MemoryError", "ModuleNotFoundError",
    "NameError", "None", "NotADirectoryError", "NotImplemented", "NotImplementedError", "OSError",
    "OverflowError", "PendingDeprecationWarning", "PermissionError", "ProcessLookupError",
    "RecursionError", "ReferenceError", "ResourceWarning", "RuntimeError", "RuntimeWarning",
    "StopAsyncIteration", "StopIteration", "SyntaxError", "SyntaxWarning", "SystemError",
    "SystemExit", "TabError", "TimeoutError", "True", "TypeError", "UnboundLocalError",
    "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError",
    "UnicodeWarning", "UserWarning", "ValueError", "Warning", "ZeroDivisionError",
    "__build_class__", "__debug__", "__import__", "abs", "aiter", "all", "anext", "any", "ascii",
    "bin", "bool", "breakpoint", "bytearray", "bytes", "callable", "chr", "classmethod",
    "compile", "complex", "copyright", "credits", "delattr", "dict", "dir", "divmod", "enumerate",
    "eval", "exec", "exit", "filter", "float", "format", "frozenset", "getattr", "globals",
    "hasattr", "hash", "help", "hex", "id", "input", "int", "isinstance", "issubclass", "iter",
    "len", "license", "list", "locals", "map", "max", "memoryview", "min", "next", "object",
    "oct", "open", "ord", "pow", "print", "property", "quit", "range", "repr", "reversed",
    "round", "set", "setattr", "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple",
    "type", "vars", "zip",
];

/// Bound by the import system in every module (`__path__` in packages), or by the compiler in
/// class bodies and methods (`__qualname__`, `__module__`, `__class__`).
#[rustfmt::skip]
pub(crate) const IMPLICIT: &[&str] = &[
    "__annotations__", "__builtins__", "__cached__", "__class__", "__doc__", "__file__",
    "__loader__", "__module__", "__name__", "__package__", "__path__", "__qualname__", "__spec__",
];

/// Whether `name` is usable without a binding.
pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTINS.binary_search(&name).is_ok() || IMPLICIT.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_so_binary_search_works() {
        assert!(BUILTINS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_builtin("print"));
        assert!(is_builtin("ExceptionGroup"));
        assert!(is_builtin("__file__"));
        assert!(!is_builtin("init_db"));
    }
}
