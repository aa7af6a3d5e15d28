#!/bin/sh
# Regenerates the sample lead files from UTF-8 text: the bytes of each file
# are what French and US spreadsheets really write (Windows-1252 with CRLF
# from French Excel, a BOM from "CSV UTF-8", ...). The files are checked
# in; run this only to change them. Needs iconv (libc-bin).
set -eu
cd "$(dirname "$0")"

# French Excel, "CSV (séparateur : point-virgule)": Windows-1252, CRLF, an
# address on two lines, doubled quotes, a ragged row and an empty row.
# The typographic apostrophe is meant: it is byte 0x92 in Windows-1252.
# shellcheck disable=SC1112
printf '%s\r\n' \
  'Civilité;Nom;Prénom;Société;Téléphone;Portable;Adresse;CP;Ville;Commentaire' \
  'M.;Dupont;Jean;Société Générale;01 42 68 53 00;06 12 34 56 78;"12, rue de la Paix' \
  'Bât. B";75002;Paris;"Il a dit ""rappeler"" à 14h"' \
  'Mme;Lefèvre;Françoise;Bœuf & Cie;04.91.55.11.11;6.12.34.56.78;3 place Garibaldi;13001;Marseille;Prix : 100 €' \
  ';;;;;;;;;' \
  'M.;Garçon;Noël;;+33 (0)5 56 12 34 56;;;33000;Bordeaux' \
  'Mlle;Bérénice;Chloé;L’Œuvre;0590 82 12 34;0690 12 34 56;"1 rue Schœlcher";97110;Pointe-à-Pitre;çà et là' |
  iconv -f UTF-8 -t WINDOWS-1252 > fr_excel_1252.csv

# The same kind of file saved as "CSV UTF-8": BOM, CRLF.
{ printf '\357\273\277'; printf '%s\r\n' \
  'Nom;Prénom;Téléphone;E-mail' \
  'Lefèvre;Françoise;06 12 34 56 78;f.lefevre@example.fr' \
  'Œuvre;Zoë;+33 7 81 23 45 67;zoe@example.fr'; } > fr_utf8_bom.csv

# A US export: commas, LF, UTF-8 without BOM, a semicolon inside quotes.
printf '%s\n' \
  'First Name,Last Name,Company,Phone,Email,Zip' \
  'John,Smith,"Acme, Inc.",(212) 736-5000,john@example.com,10001' \
  "Mary,O'Brien,\"Smith; Jones LLP\",+1 312 555 1234,mary@example.com,60601" \
  'José,Núñez,,416-555-1234,jose@example.com,M5V 3L9' > us_excel.csv

# A broken export: an opening quote never closed on line 3, a NUL byte.
printf 'id;nom;tel\n1;Dupont;0612345678\n2;"Martin;0698765432\n3;Durand;0611111111\n4;"Petit";0622222222\n5;Bad\0Byte;0633333333\n6;Roux;0644444444\n' \
  > broken.csv
