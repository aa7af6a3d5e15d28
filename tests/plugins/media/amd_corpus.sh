#!/usr/bin/env bash
# Answering-machine detection over a labelled set of generated answers.
#
# Makes 24 files (12 human-like, 12 machine-like) with espeak-ng and sox,
# at 8 kHz through a telephone band-pass, with varied voices, speeds,
# leading silences and background noise:
#   human:   a short "Allô ?" / "Oui, bonjour" after pick-up, then the
#            line stays open and quiet (the person waits for an answer);
#   machine: a long greeting ("Bonjour, vous êtes bien sur la messagerie
#            de ... laissez un message après le bip"), then the beep.
# Runs the detector (default parameters) on each, prints every verdict and
# the accuracy, and fails below 90 % ("not sure" counts as wrong).
#
# Usage: amd_corpus.sh DETECTOR OUTDIR   (fixtures go to OUTDIR)
set -euo pipefail

detector=${1:?detector binary}
out=${2:?output directory}
min_accuracy=90

for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || {
        echo "amd_corpus: $tool is missing (apt-get install $tool)" >&2
        exit 1
    }
done
mkdir -p "$out"
rm -f "$out"/*.wav
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# gen LABEL N VOICE SPEED LEAD_S TAIL_S NOISE BEEP TEXT
gen() {
    local label=$1 n=$2 voice=$3 speed=$4 lead=$5 tail=$6 noise=$7 beep=$8
    local text=$9 f
    f=$(printf '%s/%s_%02d.wav' "$out" "$label" "$n")
    espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" "$text"
    sox "$tmp/raw.wav" -b 16 -c 1 "$tmp/speech.wav" rate 8000 \
        sinc 300-3400 pad "$lead" 0
    if [[ $beep == beep ]]; then
        sox -n -r 8000 -c 1 -b 16 "$tmp/beep.wav" synth 0.5 sine 1000 \
            vol 0.4 pad 0.4 0
        sox "$tmp/speech.wav" "$tmp/beep.wav" "$tmp/joined.wav"
    else
        cp "$tmp/speech.wav" "$tmp/joined.wav"
    fi
    sox "$tmp/joined.wav" "$tmp/padded.wav" pad 0 "$tail"
    if [[ $noise != 0 ]]; then
        local dur
        dur=$(soxi -D "$tmp/padded.wav")
        sox -n -r 8000 -c 1 -b 16 "$tmp/noise.wav" synth "$dur" \
            whitenoise vol "$noise"
        sox -m -v 1 "$tmp/padded.wav" -v 1 "$tmp/noise.wav" "$f"
    else
        cp "$tmp/padded.wav" "$f"
    fi
}

# Human-like answers.
gen human 1 fr 160 0.5 5 0 - "Allô ?"
gen human 2 fr+m3 150 0.8 5 0.005 - "Oui, bonjour."
gen human 3 fr+f2 175 0.3 5 0 - "Allô, oui ?"
gen human 4 fr+f4 140 1.2 5 0.01 - "Oui ?"
gen human 5 fr-be 170 0.6 5 0.005 - "Bonjour."
gen human 6 fr-ch 150 0.4 5 0 - "Allô ?"
gen human 7 fr+m1 185 0.9 5 0.008 - "Oui, allô ?"
gen human 8 fr+f3 160 0.5 5 0 - "Allô, j'écoute."
gen human 9 fr+m5 130 0.7 5 0.003 - "Oui, bonjour ?"
gen human 10 fr+f1 190 0.4 5 0.01 - "Allô ?"
gen human 11 fr+m2 150 1.0 5 0 - "Oui ?"
gen human 12 fr+f5 165 0.6 5 0.006 - "Bonjour, oui ?"

# Machine-like greetings, each followed by the beep.
gen machine 1 fr 160 0.4 2 0 beep \
    "Bonjour, vous êtes bien sur la messagerie de Jean Dupont. Laissez un message après le bip."
gen machine 2 fr+f2 175 0.6 2 0.005 beep \
    "Bonjour, vous êtes sur le répondeur de Marie. Je ne suis pas disponible pour le moment, merci de laisser un message."
gen machine 3 fr+m3 150 0.3 2 0 beep \
    "Le correspondant que vous cherchez à joindre n'est pas disponible. Veuillez laisser un message après le bip sonore."
gen machine 4 fr-be 170 1.0 2 0.01 beep \
    "Bonjour, vous êtes bien chez Paul et Sophie. Nous sommes absents, laissez-nous un message."
gen machine 5 fr+f4 185 0.5 2 0 beep \
    "Bonjour, messagerie vocale du zéro six douze trente-quatre cinquante-six. Laissez un message après le bip."
gen machine 6 fr-ch 140 0.2 2 0.004 beep \
    "Vous êtes bien sur la messagerie de l'entreprise Martin. Nos bureaux sont fermés, merci de rappeler plus tard."
gen machine 7 fr+m1 160 0.8 2 0 beep \
    "Bonjour, c'est Julien, je ne peux pas répondre pour le moment. Laissez-moi un message, je vous rappelle."
gen machine 8 fr+f1 190 0.4 2 0.008 beep \
    "Bonjour, vous êtes bien sur la messagerie de Claire Bernard. Laissez un message après le bip, merci."
gen machine 9 fr+m5 130 0.6 2 0.002 beep \
    "Bonjour, vous avez joint le répondeur de la famille Petit. Parlez après le bip."
gen machine 10 fr+f3 170 0.3 2 0 beep \
    "Bonjour, vous êtes sur la messagerie de Thomas. Je suis absent, laissez un message et je vous rappellerai."
gen machine 11 fr+m2 155 0.7 2 0.006 beep \
    "Bienvenue sur la messagerie vocale d'Orange. Votre correspondant n'est pas joignable, laissez un message."
gen machine 12 fr+f5 165 0.5 2 0.01 beep \
    "Bonjour, vous êtes bien chez le docteur Moreau. Le cabinet est fermé, laissez un message après le bip."

total=0
right=0
while read -r file verdict rest; do
    label=$(basename "$file")
    label=${label%%_*}
    total=$((total + 1))
    mark=WRONG
    if [[ $verdict == "$label" ]]; then
        right=$((right + 1))
        mark=ok
    fi
    printf '%-6s %-13s %-9s %s\n' "$mark" "$(basename "$file")" "$verdict" "$rest"
done < <("$detector" "$out"/*.wav)

((total >= 20)) || {
    echo "amd_corpus: only $total files were classified" >&2
    exit 1
}
accuracy=$((100 * right / total))
echo "AMD accuracy: $right/$total = $accuracy % (required: $min_accuracy %)"
((accuracy >= min_accuracy))
