//! The enumerations of the ODCS wire format (contract §1.6.3) and the names of mask bits.

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:expr, $text:expr;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn code(self) -> i32 { match self { $($name::$variant => $code),* } }
            pub fn name(self) -> &'static str { match self { $($name::$variant => $text),* } }
            pub fn from_code(code: i32) -> Option<Self> {
                match code { $(c if c == $code => Some($name::$variant),)* _ => None }
            }
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

code_enum!(
    /// `source_type` codes.
    SourceType {
        Tag = 1, "tag";
        Module = 2, "module";
        Repo = 3, "repo";
        Pulp = 4, "pulp";
        RawConfig = 5, "raw_config";
        Build = 6, "build";
        PungiCompose = 7, "pungi_compose";
    }
);

code_enum!(
    /// Compose states.
    State {
        Wait = 0, "wait";
        Generating = 1, "generating";
        Done = 2, "done";
        Removed = 3, "removed";
        Failed = 4, "failed";
    }
);

code_enum!(
    /// Flag bits, in the order the JSON lists them.
    Flag {
        NoFlags = 0, "no_flags";
        NoDeps = 1, "no_deps";
        NoInheritance = 2, "no_inheritance";
        IncludeUnpublishedPulpRepos = 4, "include_unpublished_pulp_repos";
        CheckDeps = 8, "check_deps";
        IncludeDoneModules = 16, "include_done_modules";
        IgnoreAbsentPulpRepos = 32, "ignore_absent_pulp_repos";
        NoReuse = 64, "no_reuse";
        UseOnlyCompatibleArch = 128, "use_only_compatible_arch";
        NoLabel = 256, "no_label";
    }
);

code_enum!(
    /// Result bits.
    ResultKind {
        Repository = 1, "repository";
        Iso = 2, "iso";
        Ostree = 4, "ostree";
        BootIso = 8, "boot.iso";
        Raw = 16, "raw";
        Qcow2 = 32, "qcow2";
        Oci = 64, "oci";
    }
);

code_enum!(
    /// Multilib method bits.
    MultilibMethod {
        None = 0, "none";
        Runtime = 1, "runtime";
        Devel = 2, "devel";
        All = 4, "all";
    }
);

/// Names of the set bits of a mask, in table order; zero-valued entries are never listed.
pub fn flag_names(mask: i32) -> Vec<&'static str> {
    Flag::ALL
        .iter()
        .filter(|f| f.code() != 0 && mask & f.code() != 0)
        .map(|f| f.name())
        .collect()
}

pub fn result_names(mask: i32) -> Vec<&'static str> {
    ResultKind::ALL
        .iter()
        .filter(|r| mask & r.code() != 0)
        .map(|r| r.name())
        .collect()
}

pub fn state_name(code: i32) -> &'static str {
    State::from_code(code).map(State::name).unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_names_round_trip() {
        assert_eq!(flag_names(1 | 64), vec!["no_deps", "no_reuse"]);
        assert_eq!(result_names(9), vec!["repository", "boot.iso"]);
        assert_eq!(SourceType::from_name("raw_config").unwrap().code(), 5);
        assert_eq!(state_name(4), "failed");
    }

    /// The settings keep the default allow-lists as text (they sit below this module).
    #[test]
    fn default_allow_lists_are_every_name() {
        let flags: Vec<&str> = Flag::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(crate::config::DEFAULT_ALLOWED_FLAGS, flags.as_slice());
        let results: Vec<&str> = ResultKind::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(crate::config::DEFAULT_ALLOWED_RESULTS, results.as_slice());
    }
}
