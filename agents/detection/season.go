package detection

import "math"

const (
	hourNanos = int64(3600e9)
	dayNanos  = 24 * hourNanos
	seasonEW  = 0.3 // weight of the newest day in an hour's profile
	varEW     = 0.01
)

// season is the hour-of-day profile with a day-of-week offset: the Monday
// 9:00 peak is expected because 9:00 is busy every day and Monday is busier
// than the average day. Points are averaged within each hour (and day)
// first, then folded into the profile, so the resolution does not matter.
type season struct {
	hour    [24]float32 // level at each hour of the day (UTC)
	hourN   [24]uint8   // days folded in, saturating
	dow     [7]float32  // offset of each day of the week over the hourly profile
	dowN    [7]uint8
	curHour int64 // absolute hour being accumulated
	hourSum float64
	hourCnt uint32
	curDay  int64
	daySum  float64
	dayCnt  uint32
	// Running variance of the raw series and of its residual, to tell
	// whether the profile helps this series.
	rawMean, rawVar, resMean, resVar float32
}

func dayOfWeek(day int64) int { return int((day + 4) % 7) } // 1970-01-01 was a Thursday

// expect is the profile's value at t, once the hour has been seen on
// SeasonalMin days.
func (s *season) expect(cfg *Config, t int64) (float64, bool) {
	h := int(t / hourNanos % 24)
	if int(s.hourN[h]) < cfg.SeasonalMin {
		return 0, false
	}
	base := float64(s.hour[h])
	if d := dayOfWeek(t / dayNanos); int(s.dowN[d]) >= 2 {
		base += float64(s.dow[d])
	}
	return base, true
}

// useful tells whether the profile explains enough of the variance.
func (s *season) useful(cfg *Config) bool {
	return s.rawVar > 0 && float64(s.resVar) <= (1-cfg.SeasonalGain)*float64(s.rawVar)
}

func (s *season) learn(cfg *Config, t int64, v float64) {
	hourAbs, dayAbs := t/hourNanos, t/dayNanos
	if s.hourCnt > 0 && hourAbs != s.curHour {
		s.foldHour()
	}
	if s.dayCnt > 0 && dayAbs != s.curDay {
		s.foldDay()
	}
	if s.hourCnt == 0 {
		s.curHour = hourAbs
	}
	if s.dayCnt == 0 {
		s.curDay = dayAbs
	}
	s.hourSum += v
	s.hourCnt++
	if base, ok := s.expect(cfg, t); ok {
		// The day's offset is learnt from the hourly profile's residual.
		s.daySum += v - (base - s.dowOffset(dayAbs))
		s.dayCnt++
		r := float32(v - base)
		s.resMean += varEW * (r - s.resMean)
		s.resVar = (1 - varEW) * (s.resVar + varEW*(r-s.resMean)*(r-s.resMean))
		x := float32(v)
		s.rawMean += varEW * (x - s.rawMean)
		s.rawVar = (1 - varEW) * (s.rawVar + varEW*(x-s.rawMean)*(x-s.rawMean))
	} else {
		x := float32(v)
		if s.rawMean == 0 && s.rawVar == 0 {
			s.rawMean = x
		}
		s.rawMean += varEW * (x - s.rawMean)
		s.rawVar = (1 - varEW) * (s.rawVar + varEW*(x-s.rawMean)*(x-s.rawMean))
	}
}

func (s *season) dowOffset(day int64) float64 {
	d := dayOfWeek(day)
	if s.dowN[d] >= 2 {
		return float64(s.dow[d])
	}
	return 0
}

func (s *season) foldHour() {
	h := int(s.curHour % 24)
	mean := float32(s.hourSum / float64(s.hourCnt))
	if s.hourN[h] == 0 {
		s.hour[h] = mean
	} else {
		s.hour[h] += seasonEW * (mean - s.hour[h])
	}
	if s.hourN[h] < math.MaxUint8 {
		s.hourN[h]++
	}
	s.hourSum, s.hourCnt = 0, 0
}

func (s *season) foldDay() {
	d := dayOfWeek(s.curDay)
	mean := float32(s.daySum / float64(s.dayCnt))
	if s.dowN[d] == 0 {
		s.dow[d] = mean
	} else {
		s.dow[d] += seasonEW * (mean - s.dow[d])
	}
	if s.dowN[d] < math.MaxUint8 {
		s.dowN[d]++
	}
	s.daySum, s.dayCnt = 0, 0
}
