/* SPDX-License-Identifier: MIT */
/*
 * Suggesting which lead field a column holds, from its header, so that
 * the import wizard pre-fills the mapping: "Téléphone", "TEL.", "N° de
 * tél" all mean the phone; "Portable" and "GSM" the mobile phone.
 *
 * The header is normalised - accents folded to ASCII, lower case,
 * punctuation and underscores to single spaces, trimmed - and looked up
 * in a list of names French and English files use. A whole-name match
 * only: "numéro" is the phone, "numéro de rue" is not, and a guess that
 * maps a column wrongly costs more than no guess (the user maps it).
 */
#include <string.h>

#include "csv.h"

typedef struct synonym {
    const char *name; /* normalised */
    const char *field;
} synonym;

static const synonym synonyms[] = {
    /* phone */
    {"tel", "phone"},
    {"tele", "phone"},
    {"telephone", "phone"},
    {"phone", "phone"},
    {"phone number", "phone"},
    {"telephone number", "phone"},
    {"numero", "phone"},
    {"num", "phone"},
    {"numero de telephone", "phone"},
    {"numero telephone", "phone"},
    {"numero tel", "phone"},
    {"num tel", "phone"},
    {"n tel", "phone"},
    {"no tel", "phone"},
    {"n de tel", "phone"},
    {"n de telephone", "phone"},
    {"tel fixe", "phone"},
    {"telephone fixe", "phone"},
    {"fixe", "phone"},
    {"tel 1", "phone"},
    {"telephone 1", "phone"},
    {"phone 1", "phone"},
    {"tel domicile", "phone"},
    {"telephone domicile", "phone"},
    {"tel bureau", "phone"},
    {"telephone bureau", "phone"},
    {"tel pro", "phone"},
    {"telephone professionnel", "phone"},
    {"home phone", "phone"},
    {"work phone", "phone"},
    {"business phone", "phone"},
    {"landline", "phone"},
    /* phone_mobile */
    {"portable", "phone_mobile"},
    {"mobile", "phone_mobile"},
    {"gsm", "phone_mobile"},
    {"cellulaire", "phone_mobile"},
    {"cell", "phone_mobile"},
    {"cellphone", "phone_mobile"},
    {"cell phone", "phone_mobile"},
    {"mobile phone", "phone_mobile"},
    {"mobile number", "phone_mobile"},
    {"tel portable", "phone_mobile"},
    {"tel port", "phone_mobile"},
    {"telephone portable", "phone_mobile"},
    {"tel mobile", "phone_mobile"},
    {"telephone mobile", "phone_mobile"},
    {"numero portable", "phone_mobile"},
    {"numero de portable", "phone_mobile"},
    {"numero mobile", "phone_mobile"},
    {"n portable", "phone_mobile"},
    {"tel gsm", "phone_mobile"},
    /* last_name */
    {"nom", "last_name"},
    {"name", "last_name"},
    {"last name", "last_name"},
    {"lastname", "last_name"},
    {"surname", "last_name"},
    {"family name", "last_name"},
    {"nom de famille", "last_name"},
    {"nom du contact", "last_name"},
    {"nom contact", "last_name"},
    {"nom client", "last_name"},
    /* first_name */
    {"prenom", "first_name"},
    {"first name", "first_name"},
    {"firstname", "first_name"},
    {"given name", "first_name"},
    {"forename", "first_name"},
    {"prenom du contact", "first_name"},
    {"prenom contact", "first_name"},
    /* company */
    {"societe", "company"},
    {"raison sociale", "company"},
    {"company", "company"},
    {"company name", "company"},
    {"entreprise", "company"},
    {"nom de la societe", "company"},
    {"nom societe", "company"},
    {"nom entreprise", "company"},
    {"organisation", "company"},
    {"organization", "company"},
    {"etablissement", "company"},
    {"enseigne", "company"},
    {"business name", "company"},
    /* email */
    {"email", "email"},
    {"e mail", "email"},
    {"mail", "email"},
    {"courriel", "email"},
    {"adresse email", "email"},
    {"adresse e mail", "email"},
    {"adresse mail", "email"},
    {"adresse electronique", "email"},
    {"email address", "email"},
    {"e mail address", "email"},
    /* postal_code */
    {"cp", "postal_code"},
    {"code postal", "postal_code"},
    {"codepostal", "postal_code"},
    {"zip", "postal_code"},
    {"zip code", "postal_code"},
    {"zipcode", "postal_code"},
    {"postcode", "postal_code"},
    {"post code", "postal_code"},
    {"postal code", "postal_code"},
    /* city */
    {"ville", "city"},
    {"city", "city"},
    {"commune", "city"},
    {"localite", "city"},
    {"town", "city"},
    /* address */
    {"adresse", "address"},
    {"address", "address"},
    {"adresse 1", "address"},
    {"adresse postale", "address"},
    {"adresse ligne 1", "address"},
    {"address 1", "address"},
    {"address line 1", "address"},
    {"street", "address"},
    {"rue", "address"},
    /* title */
    {"civilite", "title"},
    {"civ", "title"},
    {"title", "title"},
    {"titre", "title"},
    {"salutation", "title"},
    /* birth_date */
    {"date de naissance", "birth_date"},
    {"date naissance", "birth_date"},
    {"naissance", "birth_date"},
    {"ne le", "birth_date"},
    {"ne e le", "birth_date"},
    {"birth date", "birth_date"},
    {"birthdate", "birth_date"},
    {"date of birth", "birth_date"},
    {"dob", "birth_date"},
    /* country */
    {"pays", "country"},
    {"country", "country"},
};

/* ASCII for U+00C0-U+00FF (NULL: not a letter, e.g. × and ÷). */
static const char *const latin1_fold[64] = {
    "a", "a", "a", "a",  "a",  "a",  "ae", "c", "e", "e", "e",  "e", "i",
    "i", "i", "i", "d",  "n",  "o",  "o",  "o", "o", "o", NULL, "o", "u",
    "u", "u", "u", "y",  "th", "ss", "a",  "a", "a", "a", "a",  "a", "ae",
    "c", "e", "e", "e",  "e",  "i",  "i",  "i", "i", "d", "n",  "o", "o",
    "o", "o", "o", NULL, "o",  "u",  "u",  "u", "u", "y", "th", "y",
};

#define NORM_MAX 64

/*
 * Writes the normalised @p s into @p out; returns 0, or -1 if it is too
 * long to be a header we know.
 */
static int
normalise(const char *s, char out[NORM_MAX])
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    int space = 1; /* drops leading spaces and collapses runs */

    while (*p) {
        const char *fold = NULL;
        char one[2] = {0, 0};
        unsigned cp;

        /* Decode one UTF-8 character; broken bytes count as separators. */
        if (*p < 0x80) {
            cp = *p++;
        } else if ((*p & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
            cp = ((unsigned)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
            p += 2;
        } else if ((*p & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 &&
                   (p[2] & 0xC0) == 0x80) {
            cp = ((unsigned)(p[0] & 0x0F) << 12) |
                 ((unsigned)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
            p += 3;
        } else {
            cp = ' ';
            p++;
        }

        if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
            one[0] = (char)cp;
            fold = one;
        } else if (cp >= 'A' && cp <= 'Z') {
            one[0] = (char)(cp + ('a' - 'A'));
            fold = one;
        } else if (cp >= 0xC0 && cp <= 0xFF) {
            fold = latin1_fold[cp - 0xC0];
        } else if (cp == 0x152 || cp == 0x153) {
            fold = "oe"; /* Œ œ */
        }
        if (!fold) {
            /* Punctuation, spaces, °, symbols: one separating space. */
            if (!space && n < NORM_MAX - 1) {
                out[n++] = ' ';
                space = 1;
            }
            continue;
        }
        size_t fl = strlen(fold);
        if (n + fl >= NORM_MAX - 1)
            return -1;
        memcpy(out + n, fold, fl);
        n += fl;
        space = 0;
    }
    if (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return 0;
}

const char *
csv_suggest_field(const char *header)
{
    char norm[NORM_MAX];

    if (!header || normalise(header, norm) != 0 || !norm[0])
        return NULL;
    for (size_t i = 0; i < sizeof(synonyms) / sizeof(synonyms[0]); i++)
        if (strcmp(norm, synonyms[i].name) == 0)
            return synonyms[i].field;
    return NULL;
}
