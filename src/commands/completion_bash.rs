//! Bash splits the word being completed at `:` (it is in `COMP_WORDBREAKS`), so for
//! `--target lambda:ar` clap's generated function sees the words `lambda` `:` `ar` and
//! offers nothing. The script gets a wrapper that does what bash-completion's
//! `_get_comp_words_by_ref -n :` and `__ltrim_colon_completions` do, self-contained
//! (the bash-completion package need not be installed): it joins the words bash split
//! at a `:` not preceded by a blank in `COMP_LINE`, calls clap's function with them, and
//! then strips what precedes the last `:` of the word from each completion, since bash
//! replaces only the part after it (`lambda:ar` completes to `arm64`).

/// Clap's function, renamed; the wrapper takes its name.
const INNER: &str = "_mpbuild_clap";

const WRAPPER: &str = r#"
# Joins the words bash split at ':' (COMP_WORDBREAKS) back into one, as
# bash-completion's `_get_comp_words_by_ref -n :` does, then strips the part before
# the last ':' from each completion, as its `__ltrim_colon_completions` does.
_mpbuild() {
    local -a words=()
    local cword=0 i j=-1 line="${COMP_LINE-}" blank
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        blank=0
        [[ -n ${COMP_LINE-} && $line == [[:blank:]]* ]] && blank=1
        line=${line#*"${COMP_WORDS[i]}"}
        # A ':' word, or the word after one, with no blank before it in the line.
        if ((j >= 1 && !blank)) && [[ ${COMP_WORDS[i]} == : || ${COMP_WORDS[i - 1]} == : ]]; then
            words[j]+=${COMP_WORDS[i]}
        else
            words[++j]=${COMP_WORDS[i]}
        fi
        ((i == COMP_CWORD)) && cword=$j
    done
    local cur="${words[cword]}" prev=""
    ((cword > 0)) && prev="${words[cword - 1]}"
    local -a COMP_WORDS=("${words[@]}")
    local COMP_CWORD=$cword
    _mpbuild_clap "$1" "$cur" "$prev"
    if [[ $cur == *:* && ${COMP_WORDBREAKS:-:} == *:* ]]; then
        local colon_word=${cur%"${cur##*:}"}
        i=${#COMPREPLY[*]}
        while ((i-- > 0)); do
            COMPREPLY[i]=${COMPREPLY[i]#"$colon_word"}
        done
    fi
}
"#;

/// `script` (clap's bash script) with its function renamed and the wrapper after it.
pub fn with_colon_words(script: &str) -> String {
    let renamed = script.replacen("_mpbuild() {", &format!("{INNER}() {{"), 1);
    format!("{renamed}{WRAPPER}")
}
