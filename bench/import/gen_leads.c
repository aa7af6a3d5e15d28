/* SPDX-License-Identifier: MIT */
/*
 * gen_leads: a lead file as French call centers receive them, for the
 * import benchmark: N rows of 20 ';'-separated columns with a header, in
 * UTF-8 (with a BOM) or Windows-1252 (a file has one encoding: the
 * benchmark imports one file of each), accented names and towns, quoted
 * comments (some with an embedded newline or a ';'), and phone numbers in
 * the forms people type: "06 12 34 56 78", "6.12.34.56.78" (lost zero),
 * "+33 6 12 34 56 78", "0033612345678", "06-12-34-56-78", plus ~1 %
 * invalid ones. About 5 % of the rows repeat an earlier row's number (in
 * another form): duplicates the import must find.
 *
 *   gen_leads ROWS utf8|cp1252 > file.csv
 *
 * Deterministic (fixed seed) and fast: a 1,000,000-row file in ~1 s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* UTF-8 source texts; converted to Windows-1252 on output when asked. */
static const char *const last[] = {"Dupont", "Lefèvre", "Müller", "Garçon",
                                   "Hébert", "Bœuf", "Roux", "Faure",
                                   "Martin", "Noël", "Petit", "Léger"};
static const char *const first[] = {"Amélie", "Jérôme", "Zoë", "François",
                                    "Cécile", "Inès", "Théo", "Anaïs",
                                    "Hélène", "Noé", "Maëlle", "Gaëtan"};
static const char *const towns[] = {"Besançon", "Orléans", "Nîmes",
                                    "Créteil", "Évry", "Sète", "Pau",
                                    "Saint-Étienne", "Angoulême", "Brest"};

static int cp1252;

/* Write UTF-8 text, as Windows-1252 when cp1252 (only the Latin-1 range
 * and œ/Œ occur in the texts above). */
static void
put(const char *s)
{
    if (!cp1252) {
        fputs(s, stdout);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x80) {
            putchar(*p);
        } else if (p[0] == 0xC5 && p[1] == 0x93) { /* œ */
            putchar(0x9C);
            p++;
        } else if (p[0] == 0xC5 && p[1] == 0x92) { /* Œ */
            putchar(0x8C);
            p++;
        } else if ((p[0] & 0xE0) == 0xC0) {
            putchar(((p[0] & 0x1F) << 6) | (p[1] & 0x3F));
            p++;
        }
    }
}

static void
phone(uint32_t n, int form)
{
    unsigned a = 6 + (n & 1), b = (n / 2) % 100, c = (n / 200) % 100,
             d = (n / 20000) % 100, e = (n / 2000000) % 100;
    switch (form) {
    case 0: printf("0%u %02u %02u %02u %02u", a, b, c, d, e); break;
    case 1: printf("%u.%02u.%02u.%02u.%02u", a, b, c, d, e); break;
    case 2: printf("+33 %u %02u %02u %02u %02u", a, b, c, d, e); break;
    case 3: printf("0033%u%02u%02u%02u%02u", a, b, c, d, e); break;
    default: printf("0%u-%02u-%02u-%02u-%02u", a, b, c, d, e); break;
    }
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_leads ROWS utf8|cp1252\n");
        return 2;
    }
    long rows = atol(argv[1]);
    cp1252 = strcmp(argv[2], "cp1252") == 0;
    static char out[1 << 20];
    setvbuf(stdout, out, _IOFBF, sizeof(out));
    if (!cp1252)
        fputs("\xEF\xBB\xBF", stdout);
    put("Civilité;Nom;Prénom;Téléphone;Portable;Email;Adresse;Code postal;"
        "Ville;Pays;Société;Fonction;Date de naissance;Source;Campagne;"
        "Score;Segment;Référence;Commentaire;Consentement\r\n");
    for (long i = 0; i < rows; i++) {
        uint32_t r = rnd();
        /* 5 % repeat an earlier number; the rest are unique. */
        uint32_t num = (uint32_t)i;
        if (i > 100 && r % 100 < 5)
            num = rnd() % (uint32_t)i;
        put(r & 1 ? "Mme;" : "M.;");
        put(last[r % 12]);
        putchar(';');
        put(first[(r >> 4) % 12]);
        putchar(';');
        if (r % 100 == 42)
            fputs("06 12 34", stdout); /* ~1 % broken */
        else
            phone(num, (int)((r >> 8) % 5));
        putchar(';');
        if (r % 3 == 0)
            phone(num + 500000000u, (int)((r >> 12) % 5));
        char buf[256];
        snprintf(buf, sizeof(buf),
                 ";contact%ld@example.fr;%u rue de la République;%05u;", i,
                 r % 200 + 1, 10000 + r % 85000);
        put(buf);
        put(towns[(r >> 16) % 10]);
        put(";France;Société ");
        snprintf(buf, sizeof(buf),
                 "%u;Gérant;%02u/%02u/19%02u;salon;C%u;%u;%c;REF-%ld;",
                 r % 5000, 1 + r % 28, 1 + r % 12, 40 + r % 60, r % 9,
                 r % 100, 'A' + (int)(r % 4), i);
        put(buf);
        if (r % 50 == 0)
            put("\"Rappeler\r\naprès 18h; pas avant\"");
        else if (r % 7 == 0)
            put("\"client \"\"fidèle\"\"\"");
        else
            put("à rappeler");
        fputs(r % 2 ? ";oui\r\n" : ";non\r\n", stdout);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
