/* SPDX-License-Identifier: MIT */
/*
 * The North American Numbering Plan by area code: which country a +1
 * number belongs to (US, Canada, or one of the Caribbean and Pacific
 * members) and which time zone it rings in, for calling-hour rules.
 *
 * One entry per area code in a 1000-slot table, so a lookup is an index.
 * Area codes whose territory crosses a zone line (Idaho's 208, Florida's
 * panhandle 850, Quebec's 418 with the Magdalen Islands...) carry the zone
 * where most of their subscribers live and are marked approximate, so the
 * caller can apply its most careful calling window; Canada's 867 (three
 * territories, five zones) has no zone at all. Area codes not listed here
 * (new overlays, non-geographic codes) have no zone: the caller decides.
 *
 * Assignments follow NANPA's area code list; zones were cross-checked
 * against libphonenumber's time zone map (Apache-2.0), with the split
 * codes decided by population as noted below.
 */
#include "phone_int.h"

typedef struct area {
    const char *tz;
    const char *iso;
    uint8_t approx;
} area;

#define ET(c) [c] = {"America/New_York", "US", 0}
#define CT(c) [c] = {"America/Chicago", "US", 0}
#define MT(c) [c] = {"America/Denver", "US", 0}
#define AZ(c) [c] = {"America/Phoenix", "US", 0}
#define PT(c) [c] = {"America/Los_Angeles", "US", 0}
#define CA(c, z) [c] = {"America/" #z, "CA", 0}
#define NANP(c, iso, tz) [c] = {tz, iso, 0}
#define SPLIT(c, iso, tz) [c] = {tz, iso, 1}

/* clang-format off */
static const area areas[1000] = {
    /* United States. */
    /* Central */
    CT(205), CT(210), CT(214), CT(217), CT(218), CT(224), CT(225), CT(228),
    CT(235), CT(251), CT(254), CT(256), CT(262), CT(274), CT(281), CT(309),
    CT(312), CT(314), CT(316), CT(318), CT(319), CT(320), CT(325), CT(327),
    CT(331), CT(334), CT(337), CT(346), CT(353), CT(361), CT(402), CT(405),
    CT(409), CT(414), CT(417), CT(430), CT(432), CT(447), CT(464), CT(469),
    CT(479), CT(501), CT(504), CT(507), CT(512), CT(515), CT(531), CT(534),
    CT(539), CT(557), CT(563), CT(572), CT(573), CT(580), CT(601), CT(608),
    CT(612), CT(615), CT(618), CT(629), CT(630), CT(636), CT(641), CT(651),
    CT(659), CT(660), CT(662), CT(682), CT(689), CT(708), CT(712), CT(713),
    CT(715), CT(726), CT(730), CT(731), CT(737), CT(763), CT(769), CT(773),
    CT(779), CT(806), CT(815), CT(816), CT(817), CT(830), CT(832), CT(847),
    CT(870), CT(872), CT(901), CT(903), CT(913), CT(918), CT(920), CT(931),
    CT(936), CT(938), CT(940), CT(945), CT(952), CT(956), CT(972), CT(975),
    CT(979), CT(985),
    /* Mountain */
    MT(303), MT(307), MT(385), MT(406), MT(435), MT(505), MT(575), MT(719),
    MT(720), MT(748), MT(801), MT(915), MT(970), MT(983),
    /* Pacific */
    PT(206), PT(209), PT(213), PT(253), PT(279), PT(323), PT(341), PT(350),
    PT(360), PT(369), PT(408), PT(415), PT(424), PT(425), PT(442), PT(458),
    PT(503), PT(509), PT(510), PT(530), PT(559), PT(562), PT(564), PT(619),
    PT(626), PT(628), PT(650), PT(657), PT(661), PT(669), PT(702), PT(707),
    PT(714), PT(725), PT(738), PT(747), PT(760), PT(805), PT(818), PT(820),
    PT(831), PT(840), PT(858), PT(909), PT(916), PT(925), PT(949), PT(951),
    PT(971),
    /* Eastern */
    ET(201), ET(202), ET(203), ET(207), ET(212), ET(215), ET(216), ET(220),
    ET(223), ET(227), ET(229), ET(231), ET(234), ET(239), ET(240), ET(248),
    ET(252), ET(260), ET(267), ET(269), ET(272), ET(276), ET(283), ET(301),
    ET(302), ET(304), ET(305), ET(313), ET(315), ET(317), ET(321), ET(324),
    ET(326), ET(329), ET(330), ET(332), ET(336), ET(339), ET(347), ET(351),
    ET(352), ET(363), ET(364), ET(380), ET(386), ET(401), ET(404), ET(407),
    ET(410), ET(412), ET(413), ET(419), ET(434), ET(440), ET(443), ET(445),
    ET(448), ET(463), ET(470), ET(472), ET(475), ET(478), ET(484), ET(502),
    ET(508), ET(513), ET(516), ET(517), ET(518), ET(540), ET(551), ET(561),
    ET(567), ET(570), ET(571), ET(582), ET(585), ET(586), ET(603), ET(607),
    ET(609), ET(610), ET(614), ET(616), ET(617), ET(631), ET(640), ET(645),
    ET(646), ET(656), ET(667), ET(678), ET(680), ET(681), ET(686), ET(703),
    ET(704), ET(706), ET(716), ET(717), ET(718), ET(724), ET(727), ET(728),
    ET(732), ET(734), ET(740), ET(743), ET(754), ET(757), ET(762), ET(765),
    ET(770), ET(771), ET(772), ET(774), ET(781), ET(786), ET(802), ET(803),
    ET(804), ET(810), ET(813), ET(814), ET(821), ET(826), ET(828), ET(835),
    ET(838), ET(839), ET(843), ET(845), ET(848), ET(854), ET(856), ET(857),
    ET(859), ET(860), ET(862), ET(863), ET(864), ET(865), ET(878), ET(904),
    ET(908), ET(910), ET(912), ET(914), ET(917), ET(919), ET(929), ET(930),
    ET(934), ET(937), ET(941), ET(943), ET(947), ET(948), ET(954), ET(959),
    ET(973), ET(978), ET(980), ET(984), ET(989),
    /* Arizona: Mountain time without DST */
    AZ(480), AZ(520), AZ(602), AZ(623),
    /* Hawaii */
    NANP(808, "US", "Pacific/Honolulu"),

    /*
     * Area codes that cross a zone line: the main zone, flagged.
     * 907 Alaska: Anchorage's zone but for the Aleutians west of 169°30'W.
     * 208/986 Idaho: the south (Boise, Mountain) outweighs the panhandle.
     * 219 NW Indiana, 270 western Kentucky, 850 Florida panhandle: Central
     * by population (Gary, Bowling Green, Pensacola), Eastern pockets.
     * 308 Nebraska, 605 South Dakota, 620/785 Kansas, 701 North Dakota:
     * Central, with Mountain counties in the west.
     * 541 Oregon (Malheur is Mountain), 775 Nevada (West Wendover).
     * 423 East Tennessee, 574 North Indiana, 606 eastern Kentucky, 812
     * southern Indiana, 906 Michigan's Upper Peninsula: Eastern, with
     * Central counties. 928 Arizona: the Navajo Nation keeps DST.
     */
    SPLIT(907, "US", "America/Anchorage"),
    SPLIT(208, "US", "America/Boise"),
    SPLIT(986, "US", "America/Boise"),
    SPLIT(219, "US", "America/Chicago"),
    SPLIT(270, "US", "America/Chicago"),
    SPLIT(850, "US", "America/Chicago"),
    SPLIT(308, "US", "America/Chicago"),
    SPLIT(605, "US", "America/Chicago"),
    SPLIT(620, "US", "America/Chicago"),
    SPLIT(785, "US", "America/Chicago"),
    SPLIT(701, "US", "America/Chicago"),
    SPLIT(541, "US", "America/Los_Angeles"),
    SPLIT(775, "US", "America/Los_Angeles"),
    SPLIT(423, "US", "America/New_York"),
    SPLIT(574, "US", "America/New_York"),
    SPLIT(606, "US", "America/New_York"),
    SPLIT(812, "US", "America/New_York"),
    SPLIT(906, "US", "America/New_York"),
    SPLIT(928, "US", "America/Phoenix"),

    /* Canada, by province. */
    /* Alberta */
    CA(368, Edmonton), CA(403, Edmonton), CA(587, Edmonton), CA(780, Edmonton),
    CA(825, Edmonton),
    /* New Brunswick */
    CA(428, Moncton), CA(506, Moncton),
    /* Nova Scotia, Prince Edward Island */
    CA(782, Halifax), CA(902, Halifax),
    /* Saskatchewan */
    CA(306, Regina), CA(639, Regina), CA(474, Regina),
    /* Ontario, Quebec */
    CA(226, Toronto), CA(249, Toronto), CA(263, Toronto), CA(289, Toronto),
    CA(343, Toronto), CA(354, Toronto), CA(365, Toronto), CA(367, Toronto),
    CA(382, Toronto), CA(416, Toronto), CA(437, Toronto), CA(438, Toronto),
    CA(450, Toronto), CA(468, Toronto), CA(514, Toronto), CA(519, Toronto),
    CA(548, Toronto), CA(579, Toronto), CA(581, Toronto), CA(613, Toronto),
    CA(647, Toronto), CA(683, Toronto), CA(705, Toronto), CA(742, Toronto),
    CA(753, Toronto), CA(819, Toronto), CA(873, Toronto), CA(905, Toronto),
    CA(942, Toronto),
    /* British Columbia */
    CA(236, Vancouver), CA(257, Vancouver), CA(604, Vancouver),
    CA(672, Vancouver), CA(778, Vancouver),
    /* Manitoba */
    CA(204, Winnipeg), CA(431, Winnipeg), CA(584, Winnipeg),
    /*
     * 709/879 Newfoundland and Labrador: Newfoundland time, Labrador is
     * Atlantic. 418 Quebec: the Magdalen Islands are Atlantic. 807
     * northwestern Ontario: Thunder Bay is Eastern, Kenora Central. 250
     * British Columbia: the East Kootenays are Mountain. 867 (Yukon,
     * Northwest Territories, Nunavut) spans five zones: none given.
     */
    SPLIT(709, "CA", "America/St_Johns"),
    SPLIT(879, "CA", "America/St_Johns"),
    SPLIT(418, "CA", "America/Toronto"),
    SPLIT(807, "CA", "America/Toronto"),
    SPLIT(250, "CA", "America/Vancouver"),
    SPLIT(867, "CA", NULL),

    /* The Caribbean and Pacific members of the plan. */
    NANP(268, "AG", "America/Antigua"),
    NANP(264, "AI", "America/Anguilla"),
    NANP(684, "AS", "Pacific/Pago_Pago"),
    NANP(246, "BB", "America/Barbados"),
    NANP(441, "BM", "Atlantic/Bermuda"),
    NANP(242, "BS", "America/Nassau"),
    NANP(767, "DM", "America/Dominica"),
    NANP(809, "DO", "America/Santo_Domingo"),
    NANP(829, "DO", "America/Santo_Domingo"),
    NANP(849, "DO", "America/Santo_Domingo"),
    NANP(473, "GD", "America/Grenada"),
    NANP(671, "GU", "Pacific/Guam"),
    NANP(658, "JM", "America/Jamaica"), NANP(876, "JM", "America/Jamaica"),
    NANP(869, "KN", "America/St_Kitts"),
    NANP(345, "KY", "America/Cayman"),
    NANP(758, "LC", "America/St_Lucia"),
    NANP(670, "MP", "Pacific/Saipan"),
    NANP(664, "MS", "America/Montserrat"),
    NANP(787, "PR", "America/Puerto_Rico"), NANP(939, "PR", "America/Puerto_Rico"),
    NANP(721, "SX", "America/Lower_Princes"),
    NANP(649, "TC", "America/Grand_Turk"),
    NANP(868, "TT", "America/Port_of_Spain"),
    NANP(784, "VC", "America/St_Vincent"),
    NANP(284, "VG", "America/Tortola"),
    NANP(340, "VI", "America/St_Thomas"),
};
/* clang-format on */

int
phone__nanp_area(unsigned code, phone_nanp_area *a)
{
    if (code >= 1000 || !areas[code].iso)
        return 0;
    a->tz = areas[code].tz;
    a->iso = areas[code].iso;
    a->approx = areas[code].approx;
    return 1;
}
