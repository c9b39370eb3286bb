//! In the bash, zsh and fish scripts, the values where a service is named are asked of
//! mpbuild when completing — `mpbuild __complete-services [--file FILE]`
//! (`complete_services.rs`) in the shell's directory, with the `-f`/`--file` of the line
//! being completed — so a project's own `services:` are offered too. The scripts are
//! generated with [`HOOK`] as the only value there, and each place it appears calls the
//! script's function instead. That function runs the mpbuild being completed (the line's
//! first word, else `mpbuild` on PATH); when that fails or prints nothing, it offers the
//! built-in catalog's values, written into the script.
//!
//! Only values nothing expands are used ([`shell_safe`]; bash's `compgen -W` expands
//! its list), checked again by each function; descriptions (zsh, fish) are data, never
//! evaluated.

use anyhow::bail;
use clap_complete::Shell;

use super::complete_services::lines;
use super::completion_values::HOOK;
use crate::catalog::Catalog;

#[cfg(doc)]
use super::complete_services::shell_safe;

/// Where the values go in clap's bash script (both inside double quotes: a
/// `compgen -W "…"` list and `targets`' `opts="…"`).
const BASH_CALL: &str = "$(_mpbuild_services)";

const BASH: &str = r#"
# The values where a service is named, one a line: mpbuild's own answer for the
# project here or the line's -f/--file (its `services:` too), else the built-in
# catalog's. Only words nothing expands: compgen -W expands what it is given.
_mpbuild_services() {
    local cmd=${COMP_WORDS[0]-mpbuild} file= i w out line
    local -a args=(__complete-services)
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        ((i == COMP_CWORD)) && continue
        w=${COMP_WORDS[i]}
        case $w in
            -f | --file)
                file=${COMP_WORDS[i + 1]-}
                # --file=F: bash splits the word at '=' (in COMP_WORDBREAKS).
                [[ $file == = ]] && file=${COMP_WORDS[i + 2]-}
                ;;
            --file=*) file=${w#--file=} ;;
            -f?*) file=${w#-f}; file=${file#=} ;;
            --) break ;;
        esac
    done
    [[ $cmd == "~/"* ]] && cmd=$HOME/${cmd#"~/"}
    [[ $file == "~/"* ]] && file=$HOME/${file#"~/"}
    [[ -n $file ]] && args+=(--file "$file")
    type -P -- "$cmd" >/dev/null || cmd=mpbuild
    out=$("$cmd" "${args[@]}" 2>/dev/null </dev/null) || out=
    [[ -n $out ]] || out=@FALLBACK@
    while IFS= read -r line; do
        line=${line%%$'\t'*}
        [[ $line =~ ^[A-Za-z0-9][A-Za-z0-9._:-]*$ ]] && printf '%s\n' "$line"
    done <<<"$out"
}
"#;

/// zsh: the action of each option or argument that names a service.
const ZSH_CALL: &str = "_mpbuild_services";

/// zsh: the value names that hold a `:` (every one: a unit test checks), which clap
/// writes into the specs unescaped.
const ZSH_VALUE_NAMES: [&str; 2] = ["SERVICE[:ARCH]", "HOST[:PORT]"];

/// zsh: the line as `_mpbuild` was called with it, kept before `_arguments` shifts
/// `words` into a subcommand's.
const ZSH_KEEP: &str = "_mpbuild() {\n    local -a _mpbuild_line=(\"${words[@]}\")\n    local _mpbuild_current=$CURRENT\n";

const ZSH: &str = r#"
# The values where a service is named: mpbuild's own answer for the project here or
# the line's -f/--file (its `services:` too), else the built-in catalog's.
_mpbuild_services() {
    local -a line=("${_mpbuild_line[@]}") values args=(__complete-services)
    (( ${#line} )) || line=("${words[@]}")
    local cmd=${(Q)line[1]} file= entry out i
    for (( i = 2; i <= ${#line}; i++ )); do
        (( i == _mpbuild_current )) && continue
        case ${line[i]} in
            (-f|--file) file=${(Q)line[i+1]} ;;
            (--file=*) file=${(Q)line[i]#--file=} ;;
            (-f?*) file=${(Q)line[i]#-f}; file=${file#=} ;;
            (--) break ;;
        esac
    done
    [[ $cmd == '~/'* ]] && cmd=$HOME/${cmd#'~/'}
    [[ $file == '~/'* ]] && file=$HOME/${file#'~/'}
    [[ -n $file ]] && args+=(--file "$file")
    (( $+commands[$cmd] )) || [[ $cmd == */* && -x $cmd ]] || cmd=mpbuild
    (( $+commands[$cmd] )) || [[ $cmd == */* && -x $cmd ]] &&
        out=$("$cmd" "${args[@]}" 2>/dev/null </dev/null) || out=
    [[ -n $out ]] || out=@FALLBACK@
    for entry in "${(@f)out}"; do
        [[ $entry =~ '^[A-Za-z0-9][A-Za-z0-9._:-]*'$'\t' ]] || continue
        values+=("${${entry%%$'\t'*}//:/\\:}:${entry#*$'\t'}")
    done
    _describe -t services 'service' values "$@"
}
"#;

/// clap's fish line for the values, and what replaces it.
const FISH_VALUES: &str = "-a \"__MPBUILD_SERVICES__\\t''\"";
const FISH_CALL: &str = "-a \"(__mpbuild_services)\"";

const FISH: &str = r#"
# The values where a service is named, `VALUE<TAB>WHAT` a line: mpbuild's own answer
# for the project here or the line's -f/--file (its `services:` too), else the
# built-in catalog's.
function __mpbuild_services
    set -l tokens (commandline -opc)
    set -l cmd (string replace -r '^~/' "$HOME/" -- $tokens[1])
    set -l args __complete-services
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        if test "$w" = --
            break
        else if contains -- $w -f --file
            set i (math $i + 1)
            set -q tokens[$i]; and set args __complete-services --file $tokens[$i]
        else if string match -q -- '--file=*' $w
            set args __complete-services --file (string sub -s 8 -- $w)
        else if string match -qr -- '^-f.' $w
            set args __complete-services --file (string sub -s 3 -- $w | string replace -r '^=' '')
        end
        set i (math $i + 1)
    end
    set -q args[3]; and set args[3] (string replace -r '^~/' "$HOME/" -- $args[3])
    command -q -- $cmd; or set cmd mpbuild
    set -l out
    if command -q -- $cmd
        set out (command $cmd $args 2>/dev/null </dev/null); or set out
    end
    set -q out[1]; or set out (string split \n -- @FALLBACK@)
    string match -r -- '^[A-Za-z0-9][A-Za-z0-9._:-]*\t.*$' $out
end
complete -c mpbuild -n "__fish_mpbuild_using_subcommand targets" -f -a "(__mpbuild_services)"
"#;

/// clap's `script` for `shell` (generated with [`HOOK`] where a service is named) with
/// each place calling the script's function for the values, and that function added.
pub fn with_hooks(shell: Shell, script: &str) -> anyhow::Result<String> {
    let fallback = lines(&Catalog::builtin());
    let (script, helper) = match shell {
        Shell::Bash => (
            script.replace(HOOK, BASH_CALL),
            BASH.replace("@FALLBACK@", &posix_quoted(&fallback)),
        ),
        Shell::Zsh => {
            let Some(at) = script.rfind("\nif [ \"$funcstack[1]\" = \"_mpbuild\" ]") else {
                bail!("zsh: clap's script has no final `_mpbuild` call");
            };
            let (body, end) = script.split_at(at);
            // clap writes a value name into the spec unescaped, and `:` ends its part:
            // `:SERVICE[:ARCH]:` made `ARCH]` the action, and nothing was completed.
            let mut body = body.replacen("_mpbuild() {\n", ZSH_KEEP, 1);
            for name in ZSH_VALUE_NAMES {
                let escaped = name.replace(':', "\\:");
                body = body.replace(&format!(":{name}:"), &format!(":{escaped}:"));
            }
            let body = body.replace(&format!("({HOOK})"), ZSH_CALL);
            let helper = ZSH.replace("@FALLBACK@", &posix_quoted(&fallback));
            (format!("{body}{helper}{end}"), String::new())
        }
        Shell::Fish => (
            script.replace(FISH_VALUES, FISH_CALL),
            FISH.replace("@FALLBACK@", &fish_quoted(&fallback)),
        ),
        _ => return Ok(script.to_string()),
    };
    if script.contains(HOOK) {
        bail!("{shell}: a service argument was left without the completion hook");
    }
    Ok(format!("{script}{helper}"))
}

/// `text` as one single-quoted word of bash or zsh.
fn posix_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as one single-quoted word of fish (which reads `\\` and `\'` there).
fn fish_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_is_replaced_and_the_function_added() {
        for (shell, call, function) in [
            (Shell::Bash, BASH_CALL, "_mpbuild_services() {"),
            (Shell::Zsh, ZSH_CALL, "_mpbuild_services() {"),
            (Shell::Fish, FISH_CALL, "function __mpbuild_services"),
        ] {
            let mut cmd = super::super::completion_values::attach_hook(crate::cli::command());
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "mpbuild", &mut script);
            let script = with_hooks(shell, &String::from_utf8(script).unwrap()).unwrap();
            // verify, build, mirror --target; init --service; targets SERVICE (fish:
            // the line the function adds).
            assert!(script.matches(call).count() >= 5, "{shell}:\n{script}");
            assert_eq!(script.matches(function).count(), 1, "{shell}");
            assert!(!script.contains("@FALLBACK@"), "{shell}");
        }
    }

    #[test]
    fn zsh_knows_every_value_name_with_a_colon() {
        fn names(cmd: &clap::Command, out: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                out.extend(
                    a.get_value_names()
                        .into_iter()
                        .flatten()
                        .map(|n| n.to_string()),
                );
            }
            for sub in cmd.get_subcommands() {
                names(sub, out);
            }
        }
        let mut all = Vec::new();
        names(&crate::cli::command(), &mut all);
        for name in all.iter().filter(|n| n.contains(':')) {
            assert!(ZSH_VALUE_NAMES.contains(&name.as_str()), "{name}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(posix_quoted("a'b\tc"), "'a'\\''b\tc'");
        assert_eq!(fish_quoted("a'b\\c"), "'a\\'b\\\\c'");
    }
}
